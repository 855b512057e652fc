/**
 * An inversion job inside a worker thread: the engine's invertRun over a loaded generator, one message per step
 * (latent always, since the run's history keeps every step's latent; an encoded frame on the steps the engine
 * drew), ending with the last good latent and its render. Stop and failures mid-run end with that state too,
 * so the room always gets a usable latent back (docs/invert.md). With settings.ptiSteps > 0, pivotal tuning
 * follows W/W+ and the end also carries the room's tuned weights (the engine's compact delta); the end's image
 * is then rendered from those stored bytes, as every later job of the room will render.
 */
import sharp from 'sharp';
import type { InvertEndMessage, InvertJobRequest, InvertStepMessage } from './worker-protocol.js';
import { encodeImage } from './frame-encoder.js';

type Engine = typeof import('../../engine/src/index.js');
type Generator = import('../../engine/src/index.js').ImageGenerator;
type Detector = import('../../engine/src/index.js').LandmarkDetector;
type BaseModel = import('../../engine/src/index.js').BaseModel;
type Lpips = import('../../engine/src/index.js').LpipsVgg;

/** What pivotal tuning needs from the worker: the model's base tensors, and a generator for weights it produced. */
export interface Tuning {
  base: BaseModel;
  render(weights: Uint8Array): Promise<{ gen: Generator; release(): void }>;
}

/** The thread's landmark detector, loaded on first use and kept (a few MB of weights). */
let detector: Promise<Detector> | undefined;

/**
 * The thread's LPIPS-VGG16 (~59 MB of weights at full width), loaded on first use and kept while its file is
 * unchanged (a re-import replaces it: keyed by path, size and modification time).
 */
let lpips: { key: string; net: Promise<Lpips> } | undefined;

async function lossLpips(engine: Engine, file: string | undefined): Promise<Lpips> {
  if (!file) throw Object.assign(new Error('the LPIPS loss was asked for without its weights file'), { code: 'invalid-invert-input' });
  const { stat, readFile } = await import('node:fs/promises');
  const s = await stat(file);
  const key = `${file}:${s.size}:${s.mtimeMs}`;
  if (lpips?.key !== key) {
    const old = lpips;
    lpips = { key, net: readFile(file).then((bytes) => engine.LpipsVgg.fromBytes(new Uint8Array(bytes), file)) };
    void old?.net.then((n) => n.dispose(), () => {});
  }
  const mine = lpips;
  try {
    return await mine.net;
  } catch (err) {
    if (lpips === mine) lpips = undefined;
    throw err;
  }
}

async function decodeTarget(png: Uint8Array, width: number, height: number) {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) {
    throw Object.assign(new Error(`the target is ${info.width}x${info.height}; the model draws ${width}x${height}`), { code: 'invalid-invert-input' });
  }
  return { width, height, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength) };
}

async function lossDetector(engine: Engine, gen: Generator, choice: InvertJobRequest['settings']['loss']): Promise<Detector | undefined> {
  if (choice === 'pixel' || choice === 'lpips') return undefined;
  const suits = engine.detectorLossSuits(gen.config);
  if (choice === 'detector' && !suits) {
    throw Object.assign(new Error(`the face-feature loss does not suit the model ${gen.config.name}; choose the pixel loss`), { code: 'invalid-invert-input' });
  }
  if (!suits) return undefined;
  detector ??= engine.loadLandmarkDetector();
  try {
    return await detector;
  } catch (err) {
    detector = undefined;
    // 'auto' falls back to pixels when the detector file is missing; asked for by name, its absence is an error.
    if (choice === 'detector') throw err;
    return undefined;
  }
}

export async function runInvertJob(
  engine: Engine,
  gen: Generator,
  job: InvertJobRequest,
  signal: AbortSignal,
  tuning: Tuning | undefined,
  send: (step: InvertStepMessage) => void,
): Promise<InvertEndMessage> {
  const target = await decodeTarget(job.target, gen.width, gen.height);
  const det = await lossDetector(engine, gen, job.settings.loss);
  const net = job.settings.loss === 'lpips' ? await lossLpips(engine, job.lpipsPath) : undefined;
  const s = job.settings;
  const loss = net ? 'pixel-multiscale+lpips' : det ? 'pixel-multiscale+detector' : 'pixel-multiscale';
  const run = engine.invertRun(
    gen,
    {
      target,
      detector: det,
      ...(net ? { lpips: net } : {}),
      ...(tuning ? { ptiBase: tuning.base } : {}),
      options: {
        wSteps: s.wSteps, wPlusSteps: s.wPlusSteps, lr: s.lr, wPlusLr: s.wPlusLr, imageEvery: Math.max(1, job.frameEvery),
        ...(tuning ? { ptiSteps: s.ptiSteps, ptiLr: s.ptiLr } : { ptiSteps: 0 }),
        loss,
      },
    },
    signal,
  );
  let t0 = performance.now();
  for await (const ev of run) {
    if (ev.type === 'stage') continue;
    if (ev.type === 'end') {
      const final = ev.latent.length ? await finalState(engine, gen, ev.latent, tuning, ev.ptiWeights) : undefined;
      return { reason: ev.reason, steps: ev.steps, loss, ...(ev.error ? { error: ev.error } : {}), final };
    }
    const image = ev.image ? await encodeImage(ev.image, job.frameFormat, job.frameQuality) : undefined;
    const stored = ev.image && ev.step % Math.max(1, job.storeFrameEvery) === 0 ? await encodeImage(ev.image, 'webp-lossless') : undefined;
    const elapsedMs = performance.now() - t0;
    t0 = performance.now();
    send({ step: ev.step, stage: ev.stage, loss: ev.loss, latent: ev.latent.slice(), image, stored, elapsedMs });
  }
  return { reason: 'error', steps: 0, error: { code: 'engine-failure', message: 'the inversion ended without an end event' } };
}

/** The room's new latent, its image and (after pivotal tuning) its weights, the image drawn as the room will draw it. */
async function finalState(engine: Engine, gen: Generator, latent: Float32Array, tuning: Tuning | undefined, ptiWeights: Uint8Array | undefined) {
  if (!tuning || !ptiWeights) return { latent, image: await encodeImage(await engine.renderImageAsync(gen, latent), 'png') };
  // A copy: the end message moves its buffers to the main thread.
  const weights = ptiWeights.slice();
  const lease = await tuning.render(weights);
  try {
    return { latent, image: await encodeImage(await engine.renderImageAsync(lease.gen, latent), 'png'), weights };
  } finally {
    lease.release();
  }
}
