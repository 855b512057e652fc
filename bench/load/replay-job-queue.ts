/**
 * A JobQueue that replays a recorded drag run instead of running the engine.
 *
 * Why it exists: the load benchmark (scripts/bench-load.ts) has to drive 20 rooms with runs at once to load
 * the server's fan-out (run coordination, step records in SQLite, Socket.IO frames with flow control, Yjs).
 * Twenty real engines would need twenty GPU workers; this machine runs one wasm engine on 2 cores. The
 * replay queue stands in for those workers: every drag job, in any number of rooms concurrently, gets the
 * steps of one run recorded once with the real engine (`recordRun`), at a fixed step interval (default
 * 66 ms, the engine's step time at 128 px), through the same listener calls the WorkerPool makes. Frames,
 * latents and lossless stored frames are the real bytes, copied per step as a worker's transfer would be,
 * so the server stores and sends exactly what it would with real workers. Renders (room creation, seed
 * previews) return the recorded render of the format asked for, or go to a real queue when one is given.
 *
 * Semantics kept from the WorkerPool: onPosition(0) and onStart() at once (no waiting: the point is that
 * all rooms run concurrently), steps in order, the end right after the last step, cancel stops within one
 * step and ends with reason 'cancelled' and the last step's state as `final`, a job capped by a smaller
 * `settings.maxSteps` ends with 'max-steps' at that step, and close() cancels everything.
 */
import sharp from 'sharp';
import type { DragJobHandle, DragListener, InvertJobHandle, JobQueue } from '../../server/jobs/job-queue.js';
import type { DragEndMessage, DragJobRequest, DragStepMessage, RenderJob, RenderResult } from '../../server/jobs/worker-protocol.js';
import type { EncodedImage, Point } from '../../contract/events.js';
import type { RunSettings } from '../../contract/run-settings.js';

type Bytes = EncodedImage & { bytes: Uint8Array };

export interface RecordedRun {
  modelPath: string;
  seed: number;
  points: { handle: Point; target: Point }[];
  settings: RunSettings;
  /** The seed's render in each format recorded (room creation asks for 'png', seed previews for 'webp'). */
  renders: Partial<Record<RenderJob['format'], RenderResult>>;
  /** Every step message the worker sent, in order (recorded with `record: true`, so latents and stored frames too). */
  steps: DragStepMessage[];
  end: DragEndMessage;
}

export interface ReplayJobQueueOptions {
  recording: RecordedRun;
  /** Milliseconds between steps (the first step comes one interval after the job starts). Default 66. */
  stepMs?: number;
  /** Real renders instead of the recorded ones (e.g. a WorkerPool). */
  render?: (job: RenderJob) => Promise<RenderResult>;
  /**
   * Profiling: send every step without its latent and stored frame, as for a job without `record`, so the run
   * coordinator writes no step records (shows what the run history costs the server). Default false.
   */
  stripRecords?: boolean;
}

const copyImage = (img: Bytes): Bytes => ({ ...img, bytes: img.bytes.slice() });

function copyStep(s: DragStepMessage, elapsedMs: number, record: boolean): DragStepMessage {
  return {
    step: s.step,
    handles: s.handles.map((p) => [p[0], p[1]] as Point),
    distances: [...s.distances],
    confidences: [...s.confidences],
    ...(s.image ? { image: copyImage(s.image) } : {}),
    ...(record && s.latent ? { latent: s.latent.slice() } : {}),
    ...(record && s.stored ? { stored: copyImage(s.stored) } : {}),
    elapsedMs,
  };
}

function copyRender(r: RenderResult): RenderResult {
  return { latent: r.latent.slice(), image: copyImage(r.image), meta: { ...r.meta } };
}

/** The state a run ended at after `step`, as the worker sends it: latent, PNG image, tracked handles. */
async function finalOf(step: DragStepMessage | undefined): Promise<DragEndMessage['final']> {
  const img = step?.stored ?? step?.image;
  if (!step?.latent || !img) return undefined;
  const png = await sharp(Buffer.from(img.bytes.buffer, img.bytes.byteOffset, img.bytes.byteLength)).png({ compressionLevel: 6 }).toBuffer();
  return {
    latent: step.latent.slice(),
    image: { bytes: new Uint8Array(png), mime: 'image/png', width: img.width, height: img.height },
    handles: step.handles.map((p) => [p[0], p[1]] as Point),
  };
}

interface ActiveReplay {
  cancel(): void;
  done: Promise<DragEndMessage>;
}

export class ReplayJobQueue implements JobQueue {
  private readonly recording: RecordedRun;
  private readonly stepMs: number;
  private readonly active = new Set<ActiveReplay>();
  private closed = false;
  /** Drag jobs started and steps sent since construction (the benchmark reports them). */
  readonly counts = { drags: 0, steps: 0 };
  /**
   * How late each step was sent, ms after its schedule, since the last takeLateness(): a busy event loop
   * delays the timers, as it would delay a real worker's messages. Frame latency measured from
   * RunFrame.producedAt starts after this delay.
   */
  private late: number[] = [];

  constructor(private readonly opts: ReplayJobQueueOptions) {
    this.recording = opts.recording;
    this.stepMs = opts.stepMs ?? 66;
    if (this.recording.steps.length === 0) throw new Error('ReplayJobQueue: the recording has no steps');
  }

  render(job: RenderJob): Promise<RenderResult> {
    if (this.closed) return Promise.reject(Object.assign(new Error('the replay queue is closed'), { code: 'pool-closed' }));
    if (this.opts.render) return this.opts.render(job);
    const r = this.recording.renders[job.format];
    if (!r) return Promise.reject(Object.assign(new Error(`no recorded render in format ${job.format}`), { code: 'replay-no-render' }));
    return Promise.resolve(copyRender(r));
  }

  /** The load benchmark records drags only: an inversion ends at once with an error naming why. */
  invert(): InvertJobHandle {
    return { cancel: () => {}, done: Promise.resolve({ reason: 'error', steps: 0, error: { code: 'replay-no-invert', message: 'the replay queue has no recorded inversion' } }) };
  }

  drag(job: DragJobRequest, listener: DragListener): DragJobHandle {
    const rec = this.recording;
    // A smaller step cap than the recording's ends the replay early with 'max-steps', as the engine would.
    const cap = job.settings.maxSteps;
    const capped = rec.steps.some((s) => s.step > cap);
    const steps = capped ? rec.steps.filter((s) => s.step <= cap) : rec.steps;
    // Latents and lossless frames only for a job that asks for them (the coordinator always does).
    const record = job.kind !== 'diffusion' && !!job.record && !this.opts.stripRecords;
    let resolve!: (end: DragEndMessage) => void;
    const done = new Promise<DragEndMessage>((r) => (resolve = r));
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    let cancelled = false;
    const t0 = performance.now();
    let last = t0;

    const finish = (reason: 'natural' | 'cancelled') => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      const sent = steps[next - 1];
      let end: Promise<DragEndMessage>;
      if (reason === 'natural' && !capped) {
        const e = rec.end;
        end = Promise.resolve({ ...e, ...(e.final ? { final: { latent: e.final.latent.slice(), image: copyImage(e.final.image), handles: e.final.handles.map((p) => [p[0], p[1]] as Point) } } : {}) });
      } else if (reason === 'natural') {
        end = finalOf(sent).then((final) => ({ reason: 'max-steps' as const, steps: cap, ...(final ? { final } : {}) }));
      } else {
        // The engine counts updates applied: after step k was sent, k + 1 (step 0 is the starting state).
        const updates = sent ? Math.min(sent.step + 1, rec.end.steps) : 0;
        end = finalOf(sent).then((final) => ({ reason: 'cancelled' as const, steps: updates, ...(final ? { final } : {}) }));
      }
      end
        .catch((err: Error) => ({ reason: 'error' as const, steps: 0, error: { code: 'replay-failed', message: err.message } }))
        .then((e) => {
          this.active.delete(entry);
          resolve(e);
        });
    };

    const tick = () => {
      timer = undefined;
      if (finished) return;
      if (cancelled) return finish('cancelled');
      const now = performance.now();
      if (this.late.length < 1_000_000) this.late.push(now - (t0 + (next + 1) * this.stepMs));
      const s = steps[next++];
      this.counts.steps++;
      listener.onStep(copyStep(s, now - last, record));
      last = now;
      if (next >= steps.length) return finish('natural');
      // Cancelled by the listener during this step: no further step.
      if (cancelled) return finish('cancelled');
      // Scheduled against the start, so timer lateness does not accumulate over a run.
      timer = setTimeout(tick, Math.max(0, t0 + (next + 1) * this.stepMs - performance.now()));
    };

    const entry: ActiveReplay = {
      done,
      cancel: () => {
        if (cancelled || finished) return;
        cancelled = true;
        // Within one step: the pending step is not sent, the end follows on the next turn.
        if (timer) clearTimeout(timer);
        timer = setTimeout(tick, 0);
      },
    };

    if (this.closed) {
      resolve({ reason: 'error', steps: 0, error: { code: 'pool-closed', message: 'the replay queue is closed' } });
      return { done, cancel: () => {} };
    }
    this.active.add(entry);
    this.counts.drags++;
    listener.onPosition?.(0);
    listener.onStart?.();
    timer = setTimeout(tick, this.stepMs);
    return { done, cancel: entry.cancel };
  }

  /** The step lateness samples (ms) since the last call, and forgets them. */
  takeLateness(): number[] {
    const l = this.late;
    this.late = [];
    return l;
  }

  /** Replays in progress. */
  get running(): number {
    return this.active.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.active];
    for (const a of all) a.cancel();
    await Promise.all(all.map((a) => a.done));
  }
}

export interface RecordOptions {
  modelPath: string;
  seed: number;
  points: { handle: Point; target: Point }[];
  settings: RunSettings;
  frameFormat?: 'webp' | 'jpeg';
  frameQuality?: number;
  /** Render formats to record besides 'png' (room creation). Default ['webp'] (seed previews). */
  renderFormats?: RenderJob['format'][];
}

/** Records one real run (and the seed's renders) on a real queue, e.g. a WorkerPool running the engine. */
export async function recordRun(queue: JobQueue, o: RecordOptions): Promise<RecordedRun> {
  const renders: RecordedRun['renders'] = {};
  for (const format of ['png', ...(o.renderFormats ?? ['webp'])] as RenderJob['format'][]) {
    renders[format] = await queue.render({ modelPath: o.modelPath, seed: o.seed, format });
  }
  const steps: DragStepMessage[] = [];
  const job = queue.drag(
    {
      // stallSteps 0: the recording runs the steps its settings ask for, so replays have a known length.
      modelPath: o.modelPath, latent: renders.png!.latent, points: o.points, settings: o.settings, stallSteps: 0,
      frameFormat: o.frameFormat ?? 'webp', frameQuality: o.frameQuality ?? 80, record: true,
    },
    { onStep: (s) => steps.push(s) },
  );
  const end = await job.done;
  if (end.reason === 'error') throw new Error(`recording failed: ${end.error?.code}: ${end.error?.message}`);
  return { modelPath: o.modelPath, seed: o.seed, points: o.points, settings: o.settings, renders, steps, end };
}
