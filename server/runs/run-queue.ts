/**
 * The run queue role: which run goes next. Each room runs one run at a time, in the order its runs were
 * started; rooms take turns for the workers, so a room with many runs waits behind its own. The per-room and
 * per-person limits are the queue's, since only the queue sees every waiting run. local-run-queue.ts implements
 * it in this process; redis-run-queue.ts across the web nodes of a cluster, where a change made on one node
 * reaches the others a moment later (so enqueue and cancel may answer asynchronously).
 */
import type { PublicUser, RunInfo, RunQueueState } from '../../contract/events.js';
import type { InvertSettings } from '../../contract/invert-settings.js';

/**
 * Who asked for a run, as the server knows it: the connection and its address. The per-person limits count
 * these, never the user id a client sends (which it can change with every request).
 */
export interface RunOwner {
  connection: string;
  address: string;
}

export interface QueuedRun {
  roomId: string;
  /** What participants see of the run (its position is filled in by RunQueue.state). */
  info: RunInfo;
  by: PublicUser | null;
  owner?: RunOwner;
  cancelled: boolean;
  /** Set while the run's job is on a worker: stops it within a step. */
  cancelJob?: () => void;
  /** Present for a photo's inversion (invert-run.ts) instead of a drag: the fitted target (PNG) and its settings. */
  invert?: { target: Uint8Array; settings: InvertSettings };
}

export interface RunQueueEvents {
  /**
   * The run's turn: its room's previous run has finished and a worker is free for it. The room's next run waits
   * until the returned promise settles; the worker is taken for another room's run once `workerFree` is called
   * (when the run's job has left the worker) or the promise settles, whichever comes first.
   */
  turn(run: QueuedRun, workerFree: () => void): Promise<void>;
  /** The room's queue changed: a run was queued, got its turn, moved up, or was cancelled. */
  changed(roomId: string): void;
  /** A run whose turn was taken by a process that died (a cluster's web node) was ended as interrupted, with `steps`. */
  lost?(roomId: string, runId: string, steps: number): void;
}

export interface RunQueue {
  /**
   * Adds a run to its room's queue. Returns how many of the room's runs are ahead of it (0: it runs next).
   * Throws RoomError 'limit' past the per-room or per-person limits and 'busy' when the server has too many
   * runs waiting.
   */
  enqueue(run: QueuedRun): number | Promise<number>;
  /** Cancels the room's waiting runs and the one running (through its cancelJob). Returns how many. */
  cancel(roomId: string): number | Promise<number>;
  /** Something participants see of the run (its state, position, step count) changed: its room's state goes out again. */
  runChanged(run: QueuedRun): void;
  /** The room's running and waiting runs with their positions, as participants see them. */
  state(roomId: string): RunQueueState;
  /** Whether a run is running or waiting in the room (undo waits for a quiet room). */
  busy(roomId: string): boolean;
  /** Cancels everything, refuses new runs, and resolves once every run's turn has ended. */
  close(): Promise<void>;
}
