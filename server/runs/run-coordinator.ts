/**
 * Runs in rooms. Each room has a FIFO of runs and executes one at a time; the run takes its snapshot of
 * points, mask and settings from the room's shared document when it starts (not when it is queued, since
 * the run before it moves the handles). Steps are broadcast as frames, each once its record is durable; when
 * a run ends, its tracked handles, the room's image and latent and the run's end are written in one
 * transaction. Failed writes are retried (db/retry.ts); past that, the run ends with a 'storage' error.
 */
import type { EncodedImage, PublicUser, RunEnded, RunFrame, RunInfo, RunQueueState } from '../../contract/events.js';
import { completePairs, readMask, readSettings } from '../../contract/room-doc.js';
import { roomMasks } from './mask-rasterizer.js';
import type { DocServer } from '../yjs/doc-server.js';
import type { JobQueue, DragJobHandle } from '../jobs/job-queue.js';
import type { FrameFormat } from '../jobs/worker-protocol.js';
import type { RoomRecord, RoomStore } from '../rooms/room-store.js';
import type { RunResult } from '../rooms/history-store.js';
import { errorMessage, retryDelayMs, retryPolicy, withRetries, type RetryPolicy } from '../db/retry.js';
import type { SharedDoc } from '../yjs/shared-doc.js';
import { StepRecorder } from './step-recorder.js';
import { storedFrameEvery } from './stored-frames.js';
import { handleMoves, writeThenApply, type HandleMoves } from './handle-moves.js';
import { RoomError, type RoomService } from '../rooms/room-service.js';
import { newRunId } from '../rooms/tokens.js';
import type { RunBroadcaster } from './run-broadcaster.js';
import { RunStatsRecorder, type RunStats } from './run-stats.js';
import type { ServerLimits } from '../limits.js';

export interface RunCoordinatorDeps {
  jobs: JobQueue;
  docs: DocServer;
  store: RoomStore;
  rooms: RoomService;
  broadcast: RunBroadcaster;
  frameFormat?: FrameFormat;
  frameQuality?: number;
  limits: Pick<ServerLimits, 'queuedRunsPerRoom' | 'runsPerUser' | 'runsPerAddress' | 'runsWaiting' | 'runSeconds' | 'maxSteps' | 'stallSteps' | 'storageRetries' | 'storageRetryMs'>;
  log?: (line: string) => void;
}

/**
 * Who asked for a run, as the server knows it: the connection and its address. The per-person limits count
 * these, never the user id a client sends (which it can change with every request).
 */
export interface RunOwner {
  connection: string;
  address: string;
}

type RunEnd = Omit<RunEnded, 'roomId' | 'runId'>;

const storageError = (message: string): RunEnd['error'] => ({ code: 'storage', message });

interface Run {
  info: RunInfo;
  by: PublicUser | null;
  owner?: RunOwner;
  cancelled: boolean;
  job?: DragJobHandle;
}

interface RoomRuns {
  queued: Run[];
  current?: Run;
  liveFrame: RunFrame | null;
}

export class RunCoordinator {
  private readonly rooms = new Map<string, RoomRuns>();
  private readonly running = new Set<Promise<void>>();
  /** Runs whose end could not be written when they ended, still being retried (see endLater). */
  private readonly endsPending = new Set<Promise<void>>();
  private readonly retry: RetryPolicy;
  private readonly log: (line: string) => void;
  /** The most recent finished runs' numbers, newest last (a short ring). */
  readonly stats: RunStats[] = [];
  private closed = false;
  /** RunQueueState.version: one counter for all rooms is enough to order any room's states. */
  private stateVersion = 0;

  constructor(private readonly deps: RunCoordinatorDeps) {
    this.retry = retryPolicy(deps.limits);
    this.log = deps.log ?? ((line) => console.warn(line));
  }

  private room(roomId: string): RoomRuns {
    let r = this.rooms.get(roomId);
    if (!r) this.rooms.set(roomId, (r = { queued: [], liveFrame: null }));
    return r;
  }

  state(roomId: string): RunQueueState {
    const r = this.rooms.get(roomId);
    const base = r?.current && r.current.info.position > 0 ? r.current.info.position : 0;
    return {
      roomId,
      version: ++this.stateVersion,
      current: r?.current ? { ...r.current.info } : null,
      queued: (r?.queued ?? []).map((run, i) => ({ ...run.info, position: base + i + 1 })),
    };
  }

  liveFrame(roomId: string): RunFrame | null {
    return this.rooms.get(roomId)?.liveFrame ?? null;
  }

  /** Queues a run; refuses when the document has no complete handle/target pair. */
  async start(roomId: string, by: PublicUser | null, owner?: RunOwner): Promise<{ runId: string; position: number }> {
    if (this.closed) throw new RoomError('internal', 'server is shutting down');
    const doc = await this.deps.docs.acquire(roomId);
    try {
      if (completePairs(doc).length === 0) throw new RoomError('no-points', 'add at least one handle and its target first');
    } finally {
      this.deps.docs.release(doc);
    }
    const r = this.room(roomId);
    const { queuedRunsPerRoom, runsPerUser, runsPerAddress, runsWaiting } = this.deps.limits;
    if (r.queued.length >= queuedRunsPerRoom) throw new RoomError('limit', `this room already has ${queuedRunsPerRoom} runs waiting`);
    if (owner && this.runsOf((o) => o.connection === owner.connection) >= runsPerUser) throw new RoomError('limit', `you already have ${runsPerUser} runs waiting or running`);
    if (owner && this.runsOf((o) => o.address === owner.address) >= runsPerAddress) throw new RoomError('limit', `your network address already has ${runsPerAddress} runs waiting or running`);
    if (this.waitingRuns() >= runsWaiting) {
      const wait = this.typicalRunSeconds();
      throw new RoomError('busy', `the server has ${runsWaiting} runs waiting; try again in ${wait} s`, wait);
    }
    const run: Run = { info: { runId: newRunId(), by, state: 'queued', position: 0, maxSteps: 0, step: 0 }, by, owner, cancelled: false };
    r.queued.push(run);
    const position = r.current ? r.queued.length : 0;
    this.pump(roomId);
    return { runId: run.info.runId, position };
  }

  /** Runs waiting or running, in every room, whose owner matches. */
  private runsOf(match: (owner: RunOwner) => boolean): number {
    let n = 0;
    for (const r of this.rooms.values()) for (const run of [r.current, ...r.queued]) if (run?.owner && !run.cancelled && match(run.owner)) n++;
    return n;
  }

  /** Runs not yet on a worker: queued in their room, or their room's turn but waiting for the pool. */
  private waitingRuns(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.queued.length + (r.current && r.current.info.state === 'queued' ? 1 : 0);
    return n;
  }

  /** How long a run has lately taken, in whole seconds (10 before any): a fair guess at when a place frees up. */
  private typicalRunSeconds(): number {
    const recent = this.stats.slice(-5);
    if (recent.length === 0) return 10;
    const ms = recent.reduce((sum, s) => sum + s.steps * s.meanStepMs, 0) / recent.length;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /** Cancels the running run and everything queued in the room. Returns how many runs were cancelled. */
  stop(roomId: string): number {
    const r = this.rooms.get(roomId);
    if (!r) return 0;
    let n = r.queued.length;
    for (const run of r.queued) run.cancelled = true;
    r.queued = [];
    if (r.current && !r.current.cancelled) {
      r.current.cancelled = true;
      r.current.job?.cancel();
      n++;
    }
    this.deps.broadcast.queue(this.state(roomId));
    return n;
  }

  private pump(roomId: string): void {
    const r = this.room(roomId);
    if (r.current || this.closed) {
      this.deps.broadcast.queue(this.state(roomId));
      return;
    }
    const run = r.queued.shift();
    if (!run) {
      this.deps.broadcast.queue(this.state(roomId));
      return;
    }
    r.current = run;
    const p = this.execute(roomId, run)
      .catch((err) => console.error(`[runs] ${roomId}/${run.info.runId} failed:`, err))
      .finally(() => {
        this.running.delete(p);
        r.current = undefined;
        r.liveFrame = null;
        this.pump(roomId);
      });
    this.running.add(p);
  }

  private async execute(roomId: string, run: Run): Promise<void> {
    const { docs, store, rooms, jobs, broadcast } = this.deps;
    const runId = run.info.runId;
    const ended = (e: RunEnd) => broadcast.ended({ roomId, runId, ...e });
    let doc: SharedDoc;
    try {
      doc = await docs.acquire(roomId);
    } catch (err) {
      return ended({ reason: 'error', steps: 0, error: storageError(`the room's document could not be loaded: ${errorMessage(err)}`) });
    }
    try {
      let room: RoomRecord | null;
      try {
        room = await withRetries(`${roomId}: reading the room`, () => store.get(roomId), this.retry, this.log);
      } catch (err) {
        return ended({ reason: 'error', steps: 0, error: storageError(`the room could not be read: ${errorMessage(err)}`) });
      }
      if (!room) return ended({ reason: 'error', steps: 0, error: { code: 'not-found', message: 'room not found' } });
      const size = rooms.size(room);
      let modelPath: string;
      try {
        modelPath = rooms.modelPath(room);
      } catch (err) {
        // The model went away while the run waited: it ends before anything is recorded.
        return ended({ reason: 'error', steps: 0, error: { code: (err as RoomError).code ?? 'model-unavailable', message: errorMessage(err) } });
      }
      // The snapshot: nothing a peer does from here on changes this run.
      const pairs = completePairs(doc);
      const strokes = readMask(doc);
      const settings = readSettings(doc);
      settings.maxSteps = Math.min(settings.maxSteps, this.deps.limits.maxSteps);
      if (pairs.length === 0) return ended({ reason: 'error', steps: 0, error: { code: 'no-points', message: 'no complete handle/target pair' } });
      // Off the event loop's critical path: a mask at the document limits takes a while to rasterise.
      const mask = await roomMasks.rasterize(strokes, size);
      run.info.maxSteps = settings.maxSteps;
      const targets = pairs.map((p) => p.target);
      const recorder = new RunStatsRecorder(runId);
      const r = this.room(roomId);
      // The run record (with the state undo returns to) is durable before the first frame goes out.
      try {
        const newRun = {
          id: runId, roomId, startedBy: run.by, kind: 'drag' as const, method: settings.method, points: pairs, settings,
          mask: mask ?? null, maskStrokes: strokes, latentBefore: room.latent, imageBefore: room.image, imageBeforeType: room.imageType,
        };
        await withRetries(`run ${runId}: recording its start`, () => store.createRun(newRun), this.retry, this.log);
      } catch (err) {
        return ended({ reason: 'error', steps: 0, error: storageError(`the run could not be recorded: ${errorMessage(err)}`) });
      }
      broadcast.history(roomId);
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      let lastImage: EncodedImage | undefined;
      /** Whether the newest step recorded kept its frame (stored-frames.ts: the last step must keep one). */
      let lastStepStored = true;
      const steps = new StepRecorder(
        (rec) => withRetries(`run ${runId}: recording step ${rec.step}`, () => store.addStep(rec), this.retry, this.log),
        (frame) => {
          run.info.step = frame.step;
          r.liveFrame = frame;
          broadcast.frame(frame);
        },
        () => job.cancel(),
      );
      const job = jobs.drag(
        {
          modelPath, latent: room.latent, points: pairs.map(({ handle, target }) => ({ handle, target })), mask, settings,
          stallSteps: this.deps.limits.stallSteps,
          frameFormat: this.deps.frameFormat ?? 'webp', frameQuality: this.deps.frameQuality ?? 80, record: true,
          storeFrameEvery: storedFrameEvery(size),
        },
        {
          // The duration limit counts from when a worker takes the run, not from when it was queued.
          onStart: () => {
            timer = setTimeout(() => {
              timedOut = true;
              job.cancel();
            }, this.deps.limits.runSeconds * 1000);
          },
          onPosition: (ahead) => {
            run.info.position = ahead;
            run.info.state = ahead > 0 ? 'queued' : 'running';
            broadcast.queue(this.state(roomId));
          },
          onStep: (s) => {
            const producedAt = Date.now();
            recorder.step(s.elapsedMs, s.image?.bytes.byteLength);
            const record = s.latent
              ? {
                  runId, step: s.step, handles: s.handles, distances: s.distances, confidences: s.confidences,
                  latent: s.latent, frame: s.stored?.bytes ?? null, frameType: s.stored?.mime ?? null, elapsedMs: s.elapsedMs,
                }
              : null;
            if (record) lastStepStored = !!s.stored;
            const image = s.image ?? lastImage;
            lastImage = image;
            const frame: RunFrame | null = image
              ? {
                  roomId, runId, step: s.step, maxSteps: settings.maxSteps, handles: s.handles, targets,
                  distances: s.distances, confidences: s.confidences, image, final: false, producedAt,
                }
              : null;
            steps.add(record, frame);
          },
        },
      );
      run.job = job;
      if (run.cancelled) job.cancel();
      const end = await job.done.finally(() => clearTimeout(timer));
      if (timedOut && end.reason === 'cancelled' && !run.cancelled) end.reason = 'time-limit';
      await steps.settled();
      this.stats.push(recorder.finish());
      if (this.stats.length > 20) this.stats.shift();
      if (steps.failure) {
        // What was recorded stands: the run's steps are those up to the last durable record, and the room keeps its state.
        const { step, error } = steps.failure;
        end.reason = 'error';
        end.steps = Math.max(0, steps.lastRecorded);
        end.error = storageError(`step ${step} could not be recorded: ${errorMessage(error)}`);
        end.final = undefined;
      }
      const final = steps.lastSent;
      if (final) broadcast.frame({ ...final, final: true, producedAt: Date.now() });
      const finalState = end.final && end.reason !== 'error' ? end.final : undefined;
      const moves = finalState ? handleMoves(doc, pairs.map((p, i) => ({ id: p.id, handle: finalState.handles[i] ?? p.handle }))) : null;
      const result: RunResult | undefined = finalState
        ? { roomId, latent: finalState.latent, image: finalState.image.bytes, imageType: finalState.image.mime, docUpdate: moves?.update ?? null }
        : undefined;
      if (finalState && !lastStepStored && steps.lastRecorded >= 0) await this.keepLastFrame(runId, steps.lastRecorded, finalState.image);
      const outcome: RunEnd = { reason: end.reason, steps: end.steps, ...(end.error ? { error: end.error } : {}) };
      const written = await this.writeEnd(roomId, runId, doc, outcome, result, moves);
      if (written.saved && finalState) broadcast.image(roomId, finalState.image);
      broadcast.history(roomId);
      ended(written.end);
    } finally {
      docs.release(doc);
    }
  }

  /**
   * The run's last step keeps its frame (the result, lossless PNG), so a finished run's result is viewable
   * even without the model. Best effort: if it cannot be written the frame is rendered again when asked for.
   */
  private async keepLastFrame(runId: string, step: number, image: EncodedImage & { bytes: Uint8Array }): Promise<void> {
    try {
      await withRetries(`run ${runId}: storing its last frame`, () => this.deps.store.setStepFrame(runId, step, image.bytes, image.mime), this.retry, this.log);
    } catch (err) {
      this.log(`[runs] ${runId}: its last frame was not stored (it will be rendered from its latent): ${errorMessage(err)}`);
    }
  }

  /**
   * Writes the run's end with its result in one transaction (retried), then moves the handles in the live
   * document. If the end cannot be written, the run ends as a storage error with none of its result, and that
   * end is written in the background until it lands, so the run is not left 'running' (which would block undo).
   */
  private async writeEnd(
    roomId: string, runId: string, doc: SharedDoc, outcome: RunEnd, result: RunResult | undefined, moves: HandleMoves | null,
  ): Promise<{ end: RunEnd; saved: boolean }> {
    const { docs, store } = this.deps;
    try {
      const end = { reason: outcome.reason, steps: outcome.steps, error: outcome.error?.message };
      await writeThenApply(docs, doc, moves, () =>
        withRetries(`run ${runId}: writing its end`, () => store.finishRun(runId, end, result), this.retry, this.log),
      );
      return { end: outcome, saved: true };
    } catch (err) {
      const why = `the run's end could not be saved: ${errorMessage(err)}`;
      const end: RunEnd = { reason: 'error', steps: outcome.steps, error: storageError(outcome.error ? `${outcome.error.message}; ${why}` : why) };
      this.endLater(roomId, runId, end);
      return { end, saved: false };
    }
  }

  private endLater(roomId: string, runId: string, end: RunEnd): void {
    const p = (async () => {
      for (let n = 1; ; n++) {
        try {
          await this.deps.store.finishRun(runId, { reason: end.reason, steps: end.steps, error: end.error?.message });
          this.log(`[runs] ${roomId}/${runId}: its end was written on retry ${n} after giving up on its result`);
          this.deps.broadcast.history(roomId);
          return;
        } catch (err) {
          // Not given up on while the server runs; past a stop, the next start ends it as interrupted.
          if (this.closed) return this.log(`[runs] ${roomId}/${runId}: its end could not be written before the stop: ${errorMessage(err)}`);
          if (n === 1 || n % 20 === 0) this.log(`[runs] ${roomId}/${runId}: writing its end failed (${n} in a row, retrying): ${errorMessage(err)}`);
          await new Promise((r) => setTimeout(r, retryDelayMs(this.retry, this.retry.retries)));
        }
      }
    })();
    this.endsPending.add(p);
    void p.finally(() => this.endsPending.delete(p));
  }

  /** Whether a run is running or queued in the room (undo waits for a quiet room). */
  busy(roomId: string): boolean {
    const r = this.rooms.get(roomId);
    return !!r && (!!r.current || r.queued.length > 0);
  }

  /** Cancels everything and waits for running runs to finish writing their results. */
  async close(): Promise<void> {
    this.closed = true;
    for (const roomId of this.rooms.keys()) this.stop(roomId);
    await Promise.allSettled([...this.running]);
    await Promise.allSettled([...this.endsPending]);
  }
}
