/**
 * The interface the server uses to get engine work done. Today a worker-thread pool in this process
 * implements it; a Redis-backed queue feeding worker processes on other machines can implement it later
 * without the rooms knowing.
 */
import type { DragEndMessage, DragJobRequest, DragStepMessage, RenderJob, RenderResult } from './worker-protocol.js';

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

export interface JobQueue {
  render(job: RenderJob): Promise<RenderResult>;
  drag(job: DragJobRequest, listener: DragListener): DragJobHandle;
  close(): Promise<void>;
  /** Workers alive now and how many there should be (readiness checks); absent where workers run elsewhere. */
  liveWorkers?(): { live: number; size: number };
}
