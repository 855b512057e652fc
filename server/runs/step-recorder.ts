/**
 * A run's steps on their way out. Each step's record is written (with retries, db/retry.ts) before its frame
 * is broadcast, in step order, so no client ever sees a frame that is not in the history: everything anyone
 * saw can be replayed and forked from, after a restart too. Once a record cannot be written, no later frame
 * goes out, `failure` says which step, and `onFailure` runs (the coordinator stops the run).
 */
import type { RunFrame } from '../../contract/events.js';
import type { StepRecord } from '../rooms/history-store.js';

export class StepRecorder {
  private chain: Promise<void> = Promise.resolve();
  failure: { step: number; error: unknown } | null = null;
  /** The last frame sent (its step's record is durable). */
  lastSent: RunFrame | null = null;
  /** The number of the last step whose record is durable (-1: none). */
  lastRecorded = -1;

  constructor(
    private readonly write: (record: StepRecord) => Promise<void>,
    private readonly send: (frame: RunFrame) => void,
    private readonly onFailure: () => void,
  ) {}

  /** Queues a step: its record (null: nothing to record), then its frame (null: no image for it). */
  add(record: StepRecord | null, frame: RunFrame | null): void {
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      if (record) {
        try {
          await this.write(record);
        } catch (error) {
          this.failure = { step: record.step, error };
          this.onFailure();
          return;
        }
        this.lastRecorded = record.step;
      }
      if (frame) {
        this.lastSent = frame;
        this.send(frame);
      }
    });
  }

  /** Resolves once every step queued so far is written and sent, or dropped after a failure. */
  settled(): Promise<void> {
    return this.chain;
  }
}
