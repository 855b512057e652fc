/**
 * The worker thread that owns the engine: it loads generators, renders, and runs drags and inversions
 * (invert-job.ts), streaming one message per step. The main thread never runs tensor code. A render request is served between two drag
 * steps (the engine yields to the event loop after each), so seed previews do not wait for a whole run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DiffusionDragJobRequest, DragEndMessage, DragJobRequest, DragStepMessage, FaceCropJob, FaceCropResult, FromWorker, GanDragJobRequest, InvertEndMessage, InvertJobRequest, ModelMeta, RenderJob, RenderResult, ToWorker } from './worker-protocol.js';
import { encodeImage } from './frame-encoder.js';
import { runInvertJob } from './invert-job.js';
import { runDiffusionDragJob } from './diffusion-drag-job.js';
import { readDiffusionHeader } from '../rooms/diffusion-header.js';
import { fileIdentity } from '../rooms/model-header.js';
import { TunedGenerators, type Lease } from './tuned-generators.js';
import { stat } from 'node:fs/promises';

type Engine = typeof import('../../engine/src/index.js');
type BackendName = import('../../engine/src/index.js').BackendName;
type Generator = Awaited<ReturnType<Engine['loadGenerator']>>;
type DiffusionDragModels = import('../../engine/src/index.js').DiffusionDragModels;

const port = parentPort!;
const enginePromise: Promise<Engine> = (async () => {
  const engine: Engine = await import('../../engine/src/index.js');
  const backend = await engine.initBackend({ backend: (workerData?.backend as BackendName | undefined) ?? undefined, log: () => {} });
  // Nothing on a lost device can be trusted or recovered in this thread: end it, so the pool fails its
  // runs with this error and starts a fresh worker.
  if (backend.name === 'webgpu') engine.onDeviceLost((err) => setImmediate(() => { throw err; }));
  return engine;
})();

const generators = new Map<string, Promise<Generator>>();
/** Rooms' tuned generators (pivotal tuning), a few kept so a room's drags do not rebuild theirs each time. */
const tuned = new TunedGenerators(4);
const cancels = new Map<number, AbortController>();
/** GPU memory each loaded model's weights take, where the backend reports it (webgpu, tensorflow). */
const gpuBytes = new Map<string, number>();

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

async function generator(modelPath: string): Promise<{ engine: Engine; gen: Generator; key: string }> {
  const engine = await enginePromise;
  // Keyed by the file's version as well: a model file replaced on disk is loaded again, never served from the
  // old weights. The old generator is not disposed (a job may still hold it); replacing a model file is rare.
  const key = `${modelPath}@${await stat(modelPath).then(fileIdentity, () => 'missing')}`;
  let g = generators.get(key);
  if (!g) {
    for (const k of generators.keys()) if (k.startsWith(`${modelPath}@`)) generators.delete(k);
    const before = engine.gpuBytesInUse();
    g = engine.loadGenerator(modelPath).then((gen) => {
      const after = engine.gpuBytesInUse();
      if (before !== undefined && after !== undefined) gpuBytes.set(modelPath, after - before);
      return gen;
    });
    generators.set(key, g);
    g.catch(() => generators.delete(key));
  }
  return { engine, gen: await g, key };
}

/**
 * The generator a job of a room draws with: the model's, or with the room's tuned weights applied (held until
 * release). Weights for another model or corrupt bytes reject with the engine's PtiWeightsError, which ends the
 * job with its message; the thread and other rooms are unaffected.
 */
async function roomGenerator(modelPath: string, weights: Uint8Array | undefined): Promise<{ engine: Engine; gen: Generator } & Pick<Lease, 'release'>> {
  const { engine, gen, key } = await generator(modelPath);
  if (!weights) return { engine, gen, release: () => {} };
  const lease = await tuned.acquire(engine, key, modelPath, weights);
  return { engine, gen: lease.gen, release: lease.release };
}

/** Diffusion models by folder and version (the folder's files' sizes and times): a replaced part is loaded again. */
const diffusionModels = new Map<string, Promise<DiffusionDragModels>>();

async function diffusionModel(dir: string): Promise<{ engine: Engine; models: DiffusionDragModels }> {
  const engine = await enginePromise;
  const key = `${dir}@${readDiffusionHeader(dir).identity}`;
  let m = diffusionModels.get(key);
  if (!m) {
    // As with generators, an older version is forgotten, not disposed: a job may still hold it.
    for (const k of diffusionModels.keys()) if (k.startsWith(`${dir}@`)) diffusionModels.delete(k);
    m = (async () => engine.loadDiffusionDragModels(dir))();
    diffusionModels.set(key, m);
    m.catch(() => diffusionModels.delete(key));
  }
  return { engine, models: await m };
}

async function diffusionDrag(jobId: number, job: DiffusionDragJobRequest, signal: AbortSignal): Promise<DragEndMessage> {
  const { engine, models } = await diffusionModel(job.modelPath);
  return runDiffusionDragJob(engine, models, job, signal, (step: DragStepMessage) => {
    const transfer = [step.image, step.stored].filter((x) => x).map((x) => x!.bytes.buffer as ArrayBuffer);
    if (step.latent) transfer.push(step.latent.buffer as ArrayBuffer);
    post({ type: 'step', jobId, step }, transfer);
  });
}

/** A recorded diffusion step's image, decoded from its clean latent with the model's VAE. */
async function renderDiffusion(job: RenderJob, size: { width: number; height: number }): Promise<RenderResult> {
  if (!job.latent) throw new Error('a diffusion render needs a latent');
  const { engine, models } = await diffusionModel(job.modelPath);
  const rgba = await engine.decodeDiffusionLatent(models.vae, job.latent, size.width, size.height);
  return { latent: job.latent, image: await encodeImage(rgba, job.format), meta: { ...size, numWs: 0, wDim: 0 } };
}

const meta = (gen: Generator, modelPath: string): ModelMeta => ({ width: gen.width, height: gen.height, numWs: gen.numWs, wDim: gen.wDim, gpuBytes: gpuBytes.get(modelPath) });

async function render(job: RenderJob): Promise<RenderResult> {
  if (job.diffusion) return renderDiffusion(job, job.diffusion);
  const { engine, gen, release } = await roomGenerator(job.modelPath, job.weights);
  try {
    // The awaited forms: the same values on every backend, and the only ones webgpu can read.
    const latent = job.latent ?? (await gen.latentFromSeedAsync(job.seed ?? 0));
    const rgba = await engine.renderImageAsync(gen, latent);
    return { latent, image: await encodeImage(rgba, job.format), meta: meta(gen, job.modelPath) };
  } finally {
    release();
  }
}

async function drag(jobId: number, job: DragJobRequest, signal: AbortSignal): Promise<DragEndMessage> {
  if (job.kind === 'diffusion') return diffusionDrag(jobId, job, signal);
  const { engine, gen, release } = await roomGenerator(job.modelPath, job.weights);
  try {
    return await dragWith(engine, gen, jobId, job, signal);
  } finally {
    release();
  }
}

async function dragWith(engine: Engine, gen: Generator, jobId: number, job: GanDragJobRequest, signal: AbortSignal): Promise<DragEndMessage> {
  const s = job.settings;
  const run = engine.dragRun(
    gen,
    {
      latent: job.latent,
      points: job.points,
      mask: job.mask,
      options: { method: s.method, lr: s.lr, lambda: s.lambda, maxSteps: s.maxSteps, latentSpace: s.latentSpace, stallSteps: job.stallSteps, imageEvery: 1 },
    },
    signal,
  );
  let last: { latent: Float32Array; rgba: { width: number; height: number; data: Uint8ClampedArray }; handles: [number, number][] } | undefined;
  let t0 = performance.now();
  for await (const ev of run) {
    if (ev.type === 'end') {
      const final = last
        ? { latent: last.latent, image: await encodeImage(last.rgba, 'png'), handles: last.handles }
        : undefined;
      return { reason: ev.reason, steps: ev.steps, error: ev.error, final };
    }
    if (ev.image) last = { latent: ev.latent, rgba: ev.image, handles: ev.handles };
    else if (last) last = { ...last, latent: ev.latent, handles: ev.handles };
    const image = ev.image ? await encodeImage(ev.image, job.frameFormat, job.frameQuality) : undefined;
    const stored = job.record && ev.image && ev.step % Math.max(1, job.storeFrameEvery ?? 1) === 0 ? await encodeImage(ev.image, 'webp-lossless') : undefined;
    const latent = job.record ? ev.latent.slice() : undefined;
    const elapsedMs = performance.now() - t0;
    t0 = performance.now();
    const transfer = [image, stored].filter((x) => x).map((x) => x!.bytes.buffer as ArrayBuffer);
    if (latent) transfer.push(latent.buffer as ArrayBuffer);
    post(
      { type: 'step', jobId, step: { step: ev.step, handles: ev.handles, distances: ev.distances, confidences: ev.confidences, image, latent, stored, elapsedMs } },
      transfer,
    );
  }
  return { reason: 'error', steps: 0, error: { code: 'engine-failure', message: 'drag ended without an end event' } };
}

/** The thread's landmark detector for face crops, loaded on first use and kept. */
let cropDetector: Promise<import('../../engine/src/index.js').LandmarkDetector> | undefined;

async function faceCrop(job: FaceCropJob): Promise<FaceCropResult> {
  const engine = await enginePromise;
  cropDetector ??= engine.loadLandmarkDetector();
  let detector;
  try {
    detector = await cropDetector;
  } catch (err) {
    cropDetector = undefined;
    throw err;
  }
  const t0 = performance.now();
  const image = { width: job.width, height: job.height, data: new Uint8ClampedArray(job.rgba.buffer, job.rgba.byteOffset, job.rgba.byteLength) };
  const s = engine.suggestFaceCrop(detector, image);
  return { window: s.window, confidence: s.confidence, windows: s.windows, elapsedMs: performance.now() - t0 };
}

async function invert(jobId: number, job: InvertJobRequest, signal: AbortSignal): Promise<InvertEndMessage> {
  const { engine, gen, key } = await generator(job.modelPath);
  const tuning = job.settings.ptiSteps > 0
    ? { base: await tuned.base(engine, key, job.modelPath), render: (weights: Uint8Array) => tuned.acquire(engine, key, job.modelPath, weights) }
    : undefined;
  return runInvertJob(engine, gen, job, signal, tuning, (step) => {
    const transfer = [step.image, step.stored].filter((x) => x).map((x) => x!.bytes.buffer as ArrayBuffer);
    transfer.push(step.latent.buffer as ArrayBuffer);
    post({ type: 'invert-step', jobId, step }, transfer);
  });
}

function errorInfo(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'worker-failure', message: String(e?.message ?? err) };
}

port.on('message', async (msg: ToWorker) => {
  if (msg.type === 'cancel') {
    cancels.get(msg.jobId)?.abort();
    return;
  }
  try {
    if (msg.type === 'render') {
      const result = await render(msg.job);
      post({ type: 'rendered', jobId: msg.jobId, result }, [result.image.bytes.buffer as ArrayBuffer]);
    } else if (msg.type === 'face-crop') {
      post({ type: 'face-cropped', jobId: msg.jobId, result: await faceCrop(msg.job) });
    } else if (msg.type === 'drag' || msg.type === 'invert') {
      const ctl = new AbortController();
      cancels.set(msg.jobId, ctl);
      try {
        const end = msg.type === 'drag' ? await drag(msg.jobId, msg.job, ctl.signal) : await invert(msg.jobId, msg.job, ctl.signal);
        const transfer = end.final ? [end.final.image.bytes.buffer as ArrayBuffer] : [];
        if (end.final && 'weights' in end.final && end.final.weights) transfer.push(end.final.weights.buffer as ArrayBuffer);
        post({ type: 'end', jobId: msg.jobId, end }, transfer);
      } finally {
        cancels.delete(msg.jobId);
      }
    }
  } catch (err) {
    post({ type: 'failed', jobId: msg.jobId, error: errorInfo(err) });
  }
});
