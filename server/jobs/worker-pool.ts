/**
 * JobQueue on a pool of worker threads, each owning its own engine. A worker runs one drag or inversion at a
 * time; further ones wait in one FIFO queue (the run coordinator sends at most one per room, so FIFO is already
 * fair across rooms). A worker serves one render at a time between drag steps; the other renders wait here,
 * in a bounded queue served round-robin by caller, so a flood from one address or room neither grows memory
 * without bound nor delays everyone else's previews behind it.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../../engine/src/backend.js';
import { BusyError, type DragJobHandle, type DragListener, type InvertJobHandle, type InvertListener, type JobQueue, type RenderOptions } from './job-queue.js';
import { FairQueue } from './fair-queue.js';
import type { DragEndMessage, DragJobRequest, DragStepMessage, FromWorker, InvertEndMessage, InvertJobRequest, InvertStepMessage, RenderJob, RenderResult, ToWorker, FaceCropJob, FaceCropResult } from './worker-protocol.js';

export interface WorkerPoolOptions {
  /** Number of worker threads. Default 1: a drag already uses the machine's cores through the wasm backend. */
  size?: number;
  /** Engine backend for the workers. Default: the engine's own choice (STABLEDRAG_BACKEND, else wasm). */
  backend?: BackendName;
  /** Per-worker backends: worker i runs workerBackends[i] (e.g. one webgpu worker beside wasm ones); the
   *  pool then has at least this many workers. Workers past the list use `backend`. */
  workerBackends?: BackendName[];
  /** A worker with work that sends nothing (no step, no render) for this long is deemed hung: it is
   *  terminated and replaced and its jobs fail with `worker-hung`. Default 120 s (a step takes ~0.1 s at
   *  128 px; the first one also loads the model). */
  silenceMs?: number;
  /** Renders waiting for a worker, in all and per caller (ServerLimits.rendersWaiting...). Default 32 and 8. */
  rendersWaiting?: number;
  rendersWaitingPerCaller?: number;
  /** Told each finished drag's step times as the worker measured them (ms, engine and encoding), by model file. */
  onDragSteps?: (modelPath: string, stepMs: number[]) => void;
}

/** A short job (a render, a face crop): one per worker at a time, between a long job's steps. */
type ShortJob =
  | { kind: 'render'; job: RenderJob; resolve: (r: RenderResult) => void }
  | { kind: 'face-crop'; job: FaceCropJob; resolve: (r: FaceCropResult) => void };

type QueuedRender = ShortJob & {
  jobId: number;
  reject: (e: Error) => void;
  /** When a worker was given it (performance.now()). */
  postedAt?: number;
};

/** A drag or an inversion: the long jobs, one per worker at a time. */
type LongJob =
  | { kind: 'drag'; job: DragJobRequest; listener: DragListener; resolve: (end: DragEndMessage) => void }
  | { kind: 'invert'; job: InvertJobRequest; listener: InvertListener; resolve: (end: InvertEndMessage) => void };

type QueuedDrag = LongJob & {
  jobId: number;
  worker?: PoolWorker;
  cancelled: boolean;
  stepMs: number[];
};

interface PoolWorker {
  worker: Worker;
  drag?: QueuedDrag;
  /** When the worker last sent a message or was given work while idle. */
  lastHeard: number;
  renders: Map<number, QueuedRender>;
}

class JobError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class WorkerPool implements JobQueue {
  private readonly workers: PoolWorker[] = [];
  private readonly waiting: QueuedDrag[] = [];
  private readonly renderQueue: FairQueue<QueuedRender>;
  /** Recent render duration (moving average), for the retry time a busy answer gives. */
  private renderMs = 200;
  private nextJobId = 1;
  private closed = false;
  private readonly watchdog: NodeJS.Timeout;

  constructor(private readonly opts: WorkerPoolOptions = {}) {
    const size = Math.max(1, opts.size ?? 1, opts.workerBackends?.length ?? 0);
    this.renderQueue = new FairQueue({ max: opts.rendersWaiting ?? 32, maxPerCaller: opts.rendersWaitingPerCaller ?? 8 });
    for (let i = 0; i < size; i++) this.workers.push(this.spawn(i));
    const silenceMs = opts.silenceMs ?? 120_000;
    this.watchdog = setInterval(() => {
      const now = Date.now();
      for (const pw of this.workers) {
        if (load(pw) > 0 && now - pw.lastHeard > silenceMs) this.onCrash(pw, new Error(`no message from the worker for ${Math.round((now - pw.lastHeard) / 1000)} s`), 'worker-hung');
      }
    }, Math.min(1000, Math.max(10, silenceMs / 4)));
    this.watchdog.unref();
  }

  /** The threads, for health checks and fault-injection tests (terminating one is handled like a crash). */
  threads(): readonly Worker[] {
    return this.workers.map((pw) => pw.worker);
  }

  idle(): boolean {
    return !this.closed && this.waiting.length === 0 && this.renderQueue.size === 0 && this.workers.every((pw) => load(pw) === 0);
  }

  dragsWaiting(): number {
    return this.waiting.length;
  }

  liveWorkers(): { live: number; size: number } {
    // A replaced worker leaves the list at once; a terminated thread's id is -1.
    return { live: this.closed ? 0 : this.workers.filter((pw) => pw.worker.threadId >= 0).length, size: this.workers.length };
  }

  private spawn(index: number): PoolWorker {
    // The entry registers tsx, then loads drag-worker.ts: TypeScript runs the same way as under `npm start`.
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), {
      workerData: { backend: this.opts.workerBackends?.[index] ?? this.opts.backend },
    });
    const pw: PoolWorker = { worker, renders: new Map(), lastHeard: Date.now() };
    worker.on('message', (msg: unknown) => {
      // Runs inside the worker's event emitter: a throw here (a malformed message, a listener that fails)
      // would end the process, so it is logged and the pool carries on.
      try {
        if (isFromWorker(msg)) this.onMessage(pw, msg);
        else console.error('[worker-pool] ignored a malformed message from a worker:', describe(msg));
      } catch (err) {
        console.error('[worker-pool] handling a worker message failed:', err);
      }
    });
    // A lost GPU device ends the worker with the engine's DeviceLostError: its runs end with that error and a
    // fresh worker (a new device) takes its place.
    worker.on('error', (err) => this.onCrash(pw, err, (err as { code?: unknown }).code === 'device-lost' ? 'device-lost' : 'worker-crashed'));
    worker.on('exit', (code) => {
      if (!this.closed) this.onCrash(pw, new Error(`worker exited with code ${code}`));
    });
    return pw;
  }

  private post(pw: PoolWorker, msg: ToWorker): void {
    pw.worker.postMessage(msg);
  }

  /** Call before giving a worker work: silence is measured from the moment an idle worker gets some. */
  private wake(pw: PoolWorker): void {
    if (load(pw) === 0) pw.lastHeard = Date.now();
  }

  render(job: RenderJob, opts: RenderOptions = {}): Promise<RenderResult> {
    return this.short<RenderResult>((resolve) => ({ kind: 'render', job, resolve }), opts);
  }

  faceCrop(job: FaceCropJob, opts: RenderOptions = {}): Promise<FaceCropResult> {
    return this.short<FaceCropResult>((resolve) => ({ kind: 'face-crop', job, resolve }), opts);
  }

  /** Queues a short job fairly by caller (the render queue's limits apply to all of them). */
  private short<R>(make: (resolve: (r: R) => void) => ShortJob, opts: RenderOptions): Promise<R> {
    if (this.closed) return Promise.reject(new JobError('pool-closed', 'the worker pool is closed'));
    return new Promise((resolve, reject) => {
      const q: QueuedRender = {
        ...make((r: R) => {
          this.renderMs = 0.8 * this.renderMs + 0.2 * (performance.now() - (q.postedAt ?? 0));
          resolve(r);
        }),
        jobId: this.nextJobId++,
        reject,
      };
      if (!this.renderQueue.push(opts.caller ?? '', q)) {
        const wait = Math.max(1, Math.ceil(((this.renderQueue.size + 1) * this.renderMs) / this.workers.length / 1000));
        reject(new BusyError(`the server is busy rendering; try again in ${wait} s`, wait));
        return;
      }
      this.pumpRenders();
    });
  }

  /** Gives waiting renders to workers that have none in hand (least busy first). */
  private pumpRenders(): void {
    for (;;) {
      const free = this.workers.filter((pw) => pw.renders.size === 0);
      if (free.length === 0 || this.renderQueue.size === 0) return;
      const pw = free.reduce((a, b) => (load(b) < load(a) ? b : a));
      const q = this.renderQueue.shift()!;
      this.wake(pw);
      pw.renders.set(q.jobId, q);
      q.postedAt = performance.now();
      if (q.kind === 'render') this.post(pw, { type: 'render', jobId: q.jobId, job: q.job });
      else this.post(pw, { type: 'face-crop', jobId: q.jobId, job: q.job });
    }
  }

  drag(job: DragJobRequest, listener: DragListener): DragJobHandle {
    let resolve!: (end: DragEndMessage) => void;
    const done = new Promise<DragEndMessage>((r) => (resolve = r));
    return { done, cancel: this.enqueue({ kind: 'drag', job, listener, resolve }) };
  }

  invert(job: InvertJobRequest, listener: InvertListener): InvertJobHandle {
    let resolve!: (end: InvertEndMessage) => void;
    const done = new Promise<InvertEndMessage>((r) => (resolve = r));
    return { done, cancel: this.enqueue({ kind: 'invert', job, listener, resolve }) };
  }

  /** Queues a long job; returns its cancel. */
  private enqueue(long: LongJob): () => void {
    const q = { ...long, jobId: this.nextJobId++, cancelled: false, stepMs: [] } as QueuedDrag;
    if (this.closed) q.resolve({ reason: 'error', steps: 0, error: { code: 'pool-closed', message: 'the worker pool is closed' } });
    else {
      this.waiting.push(q);
      this.pump();
    }
    return () => {
      if (q.cancelled) return;
      q.cancelled = true;
      if (q.worker) this.post(q.worker, { type: 'cancel', jobId: q.jobId });
      else if (this.waiting.includes(q)) {
        this.waiting.splice(this.waiting.indexOf(q), 1);
        q.resolve({ reason: 'cancelled', steps: 0 });
        this.notifyPositions();
      }
    };
  }

  /** Starts waiting drags on idle workers, then tells the rest where they stand. */
  private pump(): void {
    for (const pw of this.workers) {
      if (pw.drag || this.waiting.length === 0) continue;
      const q = this.waiting.shift()!;
      this.wake(pw);
      q.worker = pw;
      pw.drag = q;
      q.listener.onPosition?.(0);
      q.listener.onStart?.();
      this.post(pw, q.kind === 'drag' ? { type: 'drag', jobId: q.jobId, job: q.job } : { type: 'invert', jobId: q.jobId, job: q.job });
    }
    this.notifyPositions();
  }

  private notifyPositions(): void {
    this.waiting.forEach((q, i) => q.listener.onPosition?.(i + 1));
  }

  private onMessage(pw: PoolWorker, msg: FromWorker): void {
    pw.lastHeard = Date.now();
    if (msg.type === 'rendered' || msg.type === 'face-cropped' || (msg.type === 'failed' && pw.renders.has(msg.jobId))) {
      const r = pw.renders.get(msg.jobId);
      pw.renders.delete(msg.jobId);
      if (msg.type === 'rendered' && r?.kind === 'render') r.resolve(msg.result);
      else if (msg.type === 'face-cropped' && r?.kind === 'face-crop') r.resolve(msg.result);
      else if (msg.type !== 'failed') r?.reject(new JobError('worker-failure', `the worker answered a ${r?.kind} job with '${msg.type}'`));
      else r?.reject(new JobError(msg.error.code, msg.error.message));
      this.pumpRenders();
      return;
    }
    const q = pw.drag;
    if (!q || q.jobId !== msg.jobId) return;
    if (msg.type === 'step' || msg.type === 'invert-step') {
      // A step of the other kind than the job's would be a worker bug: dropped rather than misread.
      if ((msg.type === 'step') !== (q.kind === 'drag')) return;
      q.stepMs.push(msg.step.elapsedMs);
      if (q.kind === 'drag') q.listener.onStep(msg.step as DragStepMessage);
      else q.listener.onStep(msg.step as InvertStepMessage);
      return;
    }
    const end = msg.type === 'end' ? msg.end : { reason: 'error' as const, steps: 0, error: msg.error };
    pw.drag = undefined;
    try {
      // GAN drag step times are what the model list shows; an inversion's or a diffusion drag's (stages) differ.
      if (q.kind === 'drag' && q.job.kind !== 'diffusion' && q.stepMs.length) this.opts.onDragSteps?.(q.job.modelPath, q.stepMs);
    } catch (err) {
      console.error('[worker-pool] recording step times failed:', err);
    }
    if (q.kind === 'drag') q.resolve(end as DragEndMessage);
    else q.resolve(end as InvertEndMessage);
    this.pump();
  }

  /** A crashed or hung worker fails its jobs and is replaced, so one bad run cannot take the room server down. */
  private onCrash(pw: PoolWorker, err: Error, code: 'worker-crashed' | 'worker-hung' | 'device-lost' = 'worker-crashed'): void {
    const i = this.workers.indexOf(pw);
    if (i < 0) return;
    console.error(`[worker-pool] ${code}:`, err.message);
    for (const r of pw.renders.values()) r.reject(new JobError(code, err.message));
    pw.drag?.resolve({ reason: 'error', steps: 0, error: { code, message: err.message } });
    // Out of the pool first, so the exit event of this worker is not taken for a second crash.
    this.workers.splice(i, 1);
    pw.worker.terminate().catch(() => undefined);
    if (this.closed) return;
    // Called from timers and the worker's events: a throw (no thread could be started, a listener failing)
    // must not end the process. A pool left with no worker shows in the readiness check.
    try {
      this.workers.splice(i, 0, this.spawn(i));
      this.pump();
      this.pumpRenders();
    } catch (e) {
      console.error('[worker-pool] replacing a worker failed:', e);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    for (const q of this.waiting.splice(0)) q.resolve({ reason: 'cancelled', steps: 0 });
    for (const r of this.renderQueue.drain()) r.reject(new JobError('pool-closed', 'the worker pool closed'));
    await Promise.all(
      this.workers.map(async (pw) => {
        for (const r of pw.renders.values()) r.reject(new JobError('pool-closed', 'the worker pool closed'));
        pw.drag?.resolve({ reason: 'cancelled', steps: 0 });
        await pw.worker.terminate();
      }),
    );
  }
}

const MESSAGE_FIELDS: Record<FromWorker['type'], string> = { rendered: 'result', 'face-cropped': 'result', step: 'step', 'invert-step': 'step', end: 'end', failed: 'error' };

/** The shape worker-protocol.ts promises, checked before anything reads the message's fields. */
function isFromWorker(msg: unknown): msg is FromWorker {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as Record<string, unknown>;
  const field = Object.hasOwn(MESSAGE_FIELDS, m.type as string) ? MESSAGE_FIELDS[m.type as FromWorker['type']] : undefined;
  return field !== undefined && typeof m.jobId === 'number' && typeof m[field] === 'object' && m[field] !== null;
}

function describe(msg: unknown): string {
  try {
    return String(JSON.stringify(msg)).slice(0, 120);
  } catch {
    return typeof msg;
  }
}

function load(pw: PoolWorker): number {
  return pw.renders.size + (pw.drag ? 1 : 0);
}
