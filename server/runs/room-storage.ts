/**
 * A room's share of the store (ServerLimits.roomStorageBytes). The usage is the database's own count
 * (RoomStore.storageBytes), read when a run is asked for and when its turn comes; while the run records, its
 * step records are added to that count here rather than asking the database at every step.
 */
import type { RoomStorage } from '../../contract/events.js';
import type { NewRun, StepRecord } from '../rooms/history-store.js';
import { RoomError } from '../rooms/room-service.js';

/** The stored size of a step record's large columns (the JSON columns are a few dozen bytes). */
export function stepRecordBytes(record: StepRecord): number {
  return record.latent.byteLength + (record.frame?.byteLength ?? 0);
}

/** The stored size of a run's start snapshot (the state undo returns to, and the mask). */
export function runStartBytes(run: NewRun): number {
  return run.latentBefore.byteLength + run.imageBefore.byteLength + (run.mask?.byteLength ?? 0);
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/** The sentence a refused run and a run ended at the limit both say. */
export function storageFullMessage(use: RoomStorage): string {
  return `this room stores ${mb(use.usedBytes)} of its ${mb(use.limitBytes)}; the timeline is kept, so fork a step into a new room to go on`;
}

/** Refuses a new run in a room already at its limit (nothing is queued). */
export function checkRoomStorage(use: RoomStorage): void {
  if (use.usedBytes >= use.limitBytes) throw new RoomError('storage-full', storageFullMessage(use));
}

/** A running run's view of its room's storage: the count at its start plus what it has recorded since. */
export class StorageBudget {
  constructor(private used: number, readonly limitBytes: number) {}

  get usage(): RoomStorage {
    return { usedBytes: this.used, limitBytes: this.limitBytes };
  }

  /** Counts a record; true once the room has reached its limit. */
  add(bytes: number): boolean {
    this.used += bytes;
    return this.used >= this.limitBytes;
  }
}
