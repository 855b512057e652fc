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
    /** Told each record once it is durable (the run's storage count). */
    private readonly onRecorded?: (record: StepRecord) => void,
  ) {}

  /**
   * Queues a step: its record (null: nothing to record), then its frame (null: no image for it). The record's
   * write starts at once rather than after the previous step's: a run's steps then share the store's group
   * commit (db/group-commit.ts) instead of paying one database round trip each in turn, which on PostgreSQL
   * under load took longer than a step and left frames seconds behind. Frames still go out in step order,
   * each only once its own record is durable. After a record fails for good, no later frame goes out; records
   * of later steps already in flight may still land, past the run's recorded `steps`.
   */
  add(record: StepRecord | null, frame: RunFrame | null): void {
    const written: Promise<{ error: unknown } | null> =
      record && !this.failure ? this.write(record).then(() => null, (error: unknown) => ({ error })) : Promise.resolve(null);
    this.chain = this.chain.then(async () => {
      const outcome = await written;
      if (this.failure) return;
      if (record) {
        if (outcome) {
          this.failure = { step: record.step, error: outcome.error };
          this.onFailure();
          return;
        }
        this.lastRecorded = record.step;
        this.onRecorded?.(record);
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
