/**
 * The recorder role: a run's life in the store. Its start (with the state undo returns to) before any frame,
 * each step before that step's frame goes out (step-recorder.ts), its last frame, and its end with its result
 * in one transaction. Every write is retried (db/retry.ts). StoreRunRecorder writes through the RoomStore, so
 * it works the same on SQLite and on a database shared by a cluster; in a cluster it runs where the run's
 * steps arrive (the web node that owns the run, or the worker).
 */
import type { EncodedImage, RunEnded, RunFrame } from '../../contract/events.js';
import type { NewRun, RunResult, StepRecord } from '../rooms/history-store.js';
import type { RoomRecord, RoomStore } from '../rooms/room-store.js';
import type { DocServer } from '../yjs/doc-server.js';
import type { SharedDoc } from '../yjs/shared-doc.js';
import type { ServerLimits } from '../limits.js';
import { errorMessage, retryDelayMs, retryPolicy, withRetries, type RetryPolicy } from '../db/retry.js';
import { writeThenApply, type HandleMoves } from './handle-moves.js';
import { StepRecorder } from './step-recorder.js';
import type { RunStats } from './run-stats.js';

export type RunEnd = Omit<RunEnded, 'roomId' | 'runId'>;

export const storageError = (message: string): RunEnd['error'] => ({ code: 'storage', message });

export interface RunRecorder {
  /** The room as stored (its latent and image are the run's starting point). */
  room(roomId: string): Promise<RoomRecord | null>;
  /** The run's record, durable before its first frame goes out. */
  begin(run: NewRun): Promise<void>;
  /**
   * The run's steps: each step's record is written before `send` gets its frame; `onFailure` stops the run;
   * `onRecorded` is told each durable record.
   */
  steps(runId: string, send: (frame: RunFrame) => void, onFailure: () => void, onRecorded?: (record: StepRecord) => void): StepRecorder;
  /** The bytes the room holds in the store (RoomStore.storageBytes). */
  storageUsed(roomId: string): Promise<number>;
  /** A recorded step (an inversion whose worker died ends on its last one). */
  step(runId: string, step: number): Promise<StepRecord | null>;
  /** Stores the result as the last step's frame (best effort: it can be rendered again from the latent). */
  keepLastFrame(runId: string, step: number, image: EncodedImage & { bytes: Uint8Array }): Promise<void>;
  /**
   * Writes the run's end with its result, then moves the handles in the live document. If the end cannot be
   * written, the run ends as a storage error with none of its result (`saved` false), and that end keeps being
   * written in the background, so the run is not left 'running' (which would block undo).
   */
  finish(roomId: string, runId: string, doc: SharedDoc, outcome: RunEnd, result: RunResult | undefined, moves: HandleMoves | null): Promise<{ end: RunEnd; saved: boolean }>;
  /** The most recent finished runs' numbers, newest last (a short ring). */
  readonly stats: RunStats[];
  addStats(stats: RunStats): void;
  /**
   * Stops retrying ends in the background past their next failure, waits for `quiet` (the runs still ending),
   * then for the ends under way.
   */
  close(quiet?: Promise<unknown>): Promise<void>;
}

export interface StoreRunRecorderDeps {
  store: RoomStore;
  docs: DocServer;
  limits: Pick<ServerLimits, 'storageRetries' | 'storageRetryMs'>;
  log: (line: string) => void;
  /** Told when a room's recorded history changed outside a run's own steps (an end written on retry). */
  historyChanged: (roomId: string) => void;
}

export class StoreRunRecorder implements RunRecorder {
  readonly stats: RunStats[] = [];
  private readonly retry: RetryPolicy;
  /** Ends that could not be written when their run ended, still being retried (see endLater). */
  private readonly endsPending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: StoreRunRecorderDeps) {
    this.retry = retryPolicy(deps.limits);
  }

  private retried<T>(what: string, write: () => Promise<T>): Promise<T> {
    return withRetries(what, write, this.retry, this.deps.log);
  }

  room(roomId: string): Promise<RoomRecord | null> {
    return this.retried(`${roomId}: reading the room`, () => this.deps.store.get(roomId));
  }

  async begin(run: NewRun): Promise<void> {
    await this.retried(`run ${run.id}: recording its start`, () => this.deps.store.createRun(run));
  }

  steps(runId: string, send: (frame: RunFrame) => void, onFailure: () => void, onRecorded?: (record: StepRecord) => void): StepRecorder {
    return new StepRecorder((rec) => this.retried(`run ${runId}: recording step ${rec.step}`, () => this.deps.store.addStep(rec)), send, onFailure, onRecorded);
  }

  storageUsed(roomId: string): Promise<number> {
    return this.retried(`${roomId}: counting its stored bytes`, () => this.deps.store.storageBytes(roomId));
  }

  step(runId: string, step: number): Promise<StepRecord | null> {
    return this.retried(`run ${runId}: reading step ${step}`, () => this.deps.store.getStep(runId, step));
  }

  async keepLastFrame(runId: string, step: number, image: EncodedImage & { bytes: Uint8Array }): Promise<void> {
    try {
      await this.retried(`run ${runId}: storing its last frame`, () => this.deps.store.setStepFrame(runId, step, image.bytes, image.mime));
    } catch (err) {
      this.deps.log(`[runs] ${runId}: its last frame was not stored (it will be rendered from its latent): ${errorMessage(err)}`);
    }
  }

  async finish(
    roomId: string, runId: string, doc: SharedDoc, outcome: RunEnd, result: RunResult | undefined, moves: HandleMoves | null,
  ): Promise<{ end: RunEnd; saved: boolean }> {
    const { docs, store } = this.deps;
    try {
      const end = { reason: outcome.reason, steps: outcome.steps, error: outcome.error?.message };
      await writeThenApply(docs, doc, moves, () => this.retried(`run ${runId}: writing its end`, () => store.finishRun(runId, end, result)));
      return { end: outcome, saved: true };
    } catch (err) {
      const why = `the run's end could not be saved: ${errorMessage(err)}`;
      const end: RunEnd = { reason: 'error', steps: outcome.steps, error: storageError(outcome.error ? `${outcome.error.message}; ${why}` : why) };
      this.endLater(roomId, runId, end);
      return { end, saved: false };
    }
  }

  private endLater(roomId: string, runId: string, end: RunEnd): void {
    const { store, log } = this.deps;
    const p = (async () => {
      for (let n = 1; ; n++) {
        try {
          await store.finishRun(runId, { reason: end.reason, steps: end.steps, error: end.error?.message });
          log(`[runs] ${roomId}/${runId}: its end was written on retry ${n} after giving up on its result`);
          this.deps.historyChanged(roomId);
          return;
        } catch (err) {
          // Not given up on while the server runs; past a stop, the next start ends it as interrupted.
          if (this.closed) return log(`[runs] ${roomId}/${runId}: its end could not be written before the stop: ${errorMessage(err)}`);
          if (n === 1 || n % 20 === 0) log(`[runs] ${roomId}/${runId}: writing its end failed (${n} in a row, retrying): ${errorMessage(err)}`);
          await new Promise((r) => setTimeout(r, retryDelayMs(this.retry, this.retry.retries)));
        }
      }
    })();
    this.endsPending.add(p);
    void p.finally(() => this.endsPending.delete(p));
  }

  addStats(stats: RunStats): void {
    this.stats.push(stats);
    if (this.stats.length > 20) this.stats.shift();
  }

  async close(quiet?: Promise<unknown>): Promise<void> {
    this.closed = true;
    await quiet;
    await Promise.allSettled([...this.endsPending]);
  }
}
