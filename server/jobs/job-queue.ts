/**
 * The interface the server uses to get engine work done. Today a worker-thread pool in this process
 * implements it; a Redis-backed queue feeding worker processes on other machines can implement it later
 * without the rooms knowing.
 */
import type { DragEndMessage, DragJobRequest, DragStepMessage, InvertEndMessage, InvertJobRequest, InvertStepMessage, RenderJob, RenderResult, FaceCropJob, FaceCropResult } from './worker-protocol.js';

export interface DragListener {
  /** How many drag jobs are ahead of this one (0: about to start). Called whenever it changes. */
  onPosition?(ahead: number): void;
  onStart?(): void;
  onStep(step: DragStepMessage): void;
}

export interface DragJobHandle {
  /** Cancels: a queued job never starts, a running one stops within one step. Idempotent. */
  cancel(): void;
  /** Resolves with the end of the run (reason 'cancelled' for a job cancelled before it started). */
  readonly done: Promise<DragEndMessage>;
}

/** As DragListener, for an inversion's steps. */
export interface InvertListener {
  onPosition?(ahead: number): void;
  onStart?(): void;
  onStep(step: InvertStepMessage): void;
}

export interface InvertJobHandle {
  cancel(): void;
  /** Resolves with the end of the inversion, its last good state included (reason 'cancelled' before it started). */
  readonly done: Promise<InvertEndMessage>;
}

/** Refusal of work the queue has no room for now: the caller may try again after `retryAfterSeconds`. */
export class BusyError extends Error {
  readonly code = 'busy';
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

export interface RenderOptions {
  /** Who the render is for (an address, a room): waiting renders are served round-robin by caller. */
  caller?: string;
}

export interface JobQueue {
  /** May reject with BusyError when too many renders are waiting. */
  render(job: RenderJob, opts?: RenderOptions): Promise<RenderResult>;
  drag(job: DragJobRequest, listener: DragListener): DragJobHandle;
  /** An inversion, queued with the drags (one job per worker at a time, in the order given). */
  invert(job: InvertJobRequest, listener: InvertListener): InvertJobHandle;
  close(): Promise<void>;
  /** Workers alive now and how many there should be (readiness checks); absent where workers run elsewhere. */
  liveWorkers?(): { live: number; size: number };
  /** No job running or waiting (background work such as step-time measurement waits for this). */
  idle?(): boolean;
  /** Drags waiting for a worker (background work gives way when there are some). */
  dragsWaiting?(): number;
  /**
   * A suggested face crop (a short job, served like a render between long jobs' steps); absent where the queue
   * cannot run one (the cluster's BullMQ queue: the crop then starts centred). May reject with BusyError.
   */
  faceCrop?(job: FaceCropJob, opts?: RenderOptions): Promise<FaceCropResult>;
}
