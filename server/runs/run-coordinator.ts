/**
 * Runs in rooms, wired from three roles: the queue (run-queue.ts: which run goes next, fair across rooms, with
 * the per-room and per-person limits), the recorder (run-recorder.ts: the run's start, steps and end in the
 * store) and the broadcaster (run-broadcaster.ts: frames and queue states to the room's participants). A run's
 * turn itself is drag-run.ts. Each role is an interface, so a cluster can put a shared queue and a fan-out
 * across nodes in place of the in-process ones without the rest changing (docs/architecture.md).
 */
import type { PublicUser, RoomStorage, RunFrame, RunQueueState } from '../../contract/events.js';
import { completePairs } from '../../contract/room-doc.js';
import type { DocServer } from '../yjs/doc-server.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { FrameFormat } from '../jobs/worker-protocol.js';
import type { RoomStore } from '../rooms/room-store.js';
import { RoomError, type RoomService } from '../rooms/room-service.js';
import { newRunId } from '../rooms/tokens.js';
import type { RunBroadcaster } from './run-broadcaster.js';
import type { RunStats } from './run-stats.js';
import type { ServerLimits } from '../limits.js';
import type { QueuedRun, RunOwner, RunQueue, RunQueueEvents } from './run-queue.js';
import { LocalRunQueue } from './local-run-queue.js';
import { StoreRunRecorder, type RunRecorder } from './run-recorder.js';
import { runDrag } from './drag-run.js';
import { runInversion } from './invert-run.js';
import { checkRoomStorage } from './room-storage.js';
import type { InvertSettings } from '../../contract/invert-settings.js';

export type { RunOwner } from './run-queue.js';

/** How long a room's storage count answers repeated asks. */
const STORAGE_FRESH_MS = 1000;

export interface RunCoordinatorDeps {
  jobs: JobQueue;
  docs: DocServer;
  store: RoomStore;
  rooms: RoomService;
  broadcast: RunBroadcaster;
  frameFormat?: FrameFormat;
  frameQuality?: number;
  /** The run queue for these events; default LocalRunQueue (one process). A cluster passes a RedisRunQueue. */
  queue?: (events: RunQueueEvents, retryAfterSeconds: () => number) => RunQueue;
  limits: Pick<ServerLimits, 'queuedRunsPerRoom' | 'runsPerUser' | 'runsPerAddress' | 'runsWaiting' | 'runSeconds' | 'maxSteps' | 'stallSteps' | 'storageRetries' | 'storageRetryMs' | 'roomStorageBytes'>;
  log?: (line: string) => void;
}

export class RunCoordinator {
  private readonly queue: RunQueue;
  private readonly recorder: RunRecorder;
  /** Each running room's newest frame, for participants who join mid-run. */
  private readonly liveFrames = new Map<string, RunFrame>();
  /** Recent storage counts per room (see storage()). */
  private readonly storageCounts = new Map<string, { at: number; count: Promise<RoomStorage> }>();
  private closed = false;
  /** The deps' broadcaster, with a history change also dropping the room's kept storage count. */
  private readonly broadcast: RunBroadcaster;

  constructor(private readonly deps: RunCoordinatorDeps) {
    const { jobs, docs, store, limits } = deps;
    const b = deps.broadcast;
    const broadcast: RunBroadcaster = {
      queue: (state) => b.queue(state),
      frame: (frame) => b.frame(frame),
      ended: (ended) => b.ended(ended),
      image: (roomId, image) => b.image(roomId, image),
      history: (roomId) => {
        this.storageCounts.delete(roomId);
        b.history(roomId);
      },
    };
    this.broadcast = broadcast;
    const log = deps.log ?? ((line) => console.warn(line));
    this.recorder = new StoreRunRecorder({ store, docs, limits, log, historyChanged: (roomId) => broadcast.history(roomId) });
    const events: RunQueueEvents = {
      turn: (run, workerFree) => this.turn(run, workerFree),
      changed: (roomId) => broadcast.queue(this.queue.state(roomId)),
      lost: (roomId, runId, steps) => {
        broadcast.ended({ roomId, runId, reason: 'interrupted', steps, error: { code: 'node-lost', message: 'the server running this run stopped; its steps so far are kept' } });
        broadcast.history(roomId);
      },
    };
    this.queue =
      deps.queue?.(events, () => this.typicalRunSeconds()) ??
      // A pool without a known size (a job queue elsewhere) does its own waiting: every room's turn goes to it at once.
      new LocalRunQueue({ limits, slots: () => jobs.liveWorkers?.().size ?? Infinity, retryAfterSeconds: () => this.typicalRunSeconds() }, events);
  }

  /** The most recent finished runs' numbers, newest last. */
  get stats(): readonly RunStats[] {
    return this.recorder.stats;
  }

  state(roomId: string): RunQueueState {
    return this.queue.state(roomId);
  }

  liveFrame(roomId: string): RunFrame | null {
    return this.liveFrames.get(roomId) ?? this.deps.broadcast.liveFrame?.(roomId) ?? null;
  }

  /**
   * What the room holds in the store against its limit. The count is one aggregate query (26-46 ms for a room
   * of 10,000 steps on SQLite, docs/invert.md), and every participant's timeline asks at once after each
   * history change: asks within STORAGE_FRESH_MS share one answer, and a run's history change (its start,
   * its end) drops it. A run's own turn reads the store afresh.
   */
  storage(roomId: string): Promise<RoomStorage> {
    const now = performance.now();
    const kept = this.storageCounts.get(roomId);
    if (kept && now - kept.at < STORAGE_FRESH_MS) return kept.count;
    if (this.storageCounts.size > 256) for (const [id, c] of this.storageCounts) if (now - c.at >= STORAGE_FRESH_MS) this.storageCounts.delete(id);
    const count = this.deps.store.storageBytes(roomId).then((usedBytes) => ({ usedBytes, limitBytes: this.deps.limits.roomStorageBytes }));
    this.storageCounts.set(roomId, { at: now, count });
    count.catch(() => this.storageCounts.get(roomId)?.count === count && this.storageCounts.delete(roomId));
    return count;
  }

  /**
   * Queues a run; refuses when the document has no complete handle/target pair, when the room is at its
   * storage limit, or past the queue's limits.
   */
  async start(roomId: string, by: PublicUser | null, owner?: RunOwner): Promise<{ runId: string; position: number }> {
    if (this.closed) throw new RoomError('internal', 'server is shutting down');
    checkRoomStorage(await this.storage(roomId));
    const doc = await this.deps.docs.acquire(roomId);
    try {
      if (completePairs(doc).length === 0) throw new RoomError('no-points', 'add at least one handle and its target first');
    } finally {
      this.deps.docs.release(doc);
    }
    const run: QueuedRun = { roomId, info: { runId: newRunId(), by, state: 'queued', position: 0, maxSteps: 0, step: 0 }, by, owner, cancelled: false };
    const position = await this.queue.enqueue(run);
    return { runId: run.info.runId, position };
  }

  /**
   * Queues a photo's inversion in the room (its first run, for a room made from a photo): `target` is the
   * fitted image as PNG. Refused at the room's storage limit and past the queue's limits like a drag.
   */
  async startInversion(roomId: string, by: PublicUser | null, owner: RunOwner, invert: { target: Uint8Array; settings: InvertSettings }): Promise<{ runId: string; position: number }> {
    if (this.closed) throw new RoomError('internal', 'server is shutting down');
    checkRoomStorage(await this.storage(roomId));
    const maxSteps = invert.settings.wSteps + invert.settings.wPlusSteps;
    const run: QueuedRun = { roomId, info: { runId: newRunId(), by, state: 'queued', position: 0, maxSteps, step: 0 }, by, owner, cancelled: false, invert };
    const position = await this.queue.enqueue(run);
    return { runId: run.info.runId, position };
  }

  /** Cancels the running run and everything queued in the room. Returns how many runs were cancelled. */
  stop(roomId: string): number | Promise<number> {
    return this.queue.cancel(roomId);
  }

  /** Whether a run is running or queued in the room (undo waits for a quiet room). */
  busy(roomId: string): boolean {
    return this.queue.busy(roomId);
  }

  private async turn(run: QueuedRun, workerFree: () => void): Promise<void> {
    const { jobs, docs, rooms, frameFormat, frameQuality, limits } = this.deps;
    const { broadcast } = this;
    const ctx = {
      jobs, docs, rooms, recorder: this.recorder, broadcast, frameFormat, frameQuality, limits,
      liveFrame: (frame: RunFrame) => this.liveFrames.set(run.roomId, frame),
      queueChanged: () => this.queue.runChanged(run),
    };
    try {
      await (run.invert ? runInversion(ctx, run, workerFree) : runDrag(ctx, run, workerFree));
    } finally {
      this.liveFrames.delete(run.roomId);
    }
  }

  /** How long a run has lately taken, in whole seconds (10 before any): a fair guess at when a place frees up. */
  private typicalRunSeconds(): number {
    const recent = this.recorder.stats.slice(-5);
    if (recent.length === 0) return 10;
    const ms = recent.reduce((sum, s) => sum + s.steps * s.meanStepMs, 0) / recent.length;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /** Cancels everything and waits for running runs to finish writing their results. */
  async close(): Promise<void> {
    this.closed = true;
    await this.recorder.close(this.queue.close());
  }
}
