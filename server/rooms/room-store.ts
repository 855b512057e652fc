/**
 * Persistence of rooms, behind an interface so the server never touches Prisma directly (a PostgreSQL or
 * in-memory store can replace the SQLite one). Issue 5 adds run/step history next to these methods.
 */
import type { ModelKind, Role } from '../../contract/events.js';
import type { HistoryStore } from './history-store.js';

export interface NewRoom {
  title: string;
  model: string;
  /** The model's kind now (default 'gan'): kept with the room, so it holds when the model is gone. */
  modelKind?: ModelKind;
  seed: number;
  parentRoomId?: string | null;
  forkRunId?: string | null;
  forkStep?: number | null;
  latent: Float32Array;
  image: Uint8Array;
  imageType: string;
  /** The room's tuned generator weights (a fork copies its parent's); absent: the model's own. */
  weights?: Uint8Array | null;
}

export interface RoomRecord {
  id: string;
  title: string;
  model: string;
  modelKind: ModelKind;
  seed: number;
  parentRoomId: string | null;
  forkRunId: string | null;
  forkStep: number | null;
  editToken: string;
  viewToken: string;
  latent: Float32Array;
  image: Uint8Array;
  imageType: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A room's Yjs document as stored: apply `state` (when there is one), then `updates` in order. */
export interface StoredDocument {
  /** The last full store (Y.encodeStateAsUpdate), or null before the first. */
  state: Uint8Array | null;
  /** The updates logged since, oldest first. */
  updates: Uint8Array[];
  /** The id of the last of them (0 when none): what a store of the document loaded from this covers. */
  lastUpdateId: number;
}

export interface RoomStore extends HistoryStore {
  /** Creates a room with fresh id and tokens. */
  create(room: NewRoom): Promise<RoomRecord>;
  /** Deletes a room and everything of it (a room made from a photo whose inversion could not be queued). */
  delete(id: string): Promise<void>;
  get(id: string): Promise<RoomRecord | null>;
  /** Resolves an edit or view token to its room and the role the token grants. */
  findByToken(token: string): Promise<{ room: RoomRecord; role: Role } | null>;
  /** Most recently updated first. */
  listRecent(limit: number): Promise<RoomRecord[]>;
  /** The room's current state after a finished run. */
  saveImage(id: string, state: { latent: Float32Array; image: Uint8Array; imageType: string }): Promise<void>;
  /**
   * The room's Yjs document as stored. A document is kept as a full state, written with a debounce (2 s
   * quiet, 10 s ceiling: a state per keystroke would be too much), plus an append-only log of every update
   * applied since, written as each arrives. The log exists so that a server killed between two full stores
   * loses no edit; each full store compacts it.
   */
  loadDocument(id: string): Promise<StoredDocument>;
  /** Appends one update to the room's log; resolves with its id once it is durable. Ids only ever grow. */
  appendDocumentUpdate(id: string, update: Uint8Array): Promise<number>;
  /**
   * Writes the full state (Y.encodeStateAsUpdate) and, in the same transaction, deletes the logged updates
   * with ids <= `coversUpdateId`: pass the last id whose append had completed before `state` was encoded
   * (those updates are in it). 0 deletes none.
   */
  storeDocument(id: string, state: Uint8Array, coversUpdateId?: number): Promise<void>;
  /**
   * The room's own generator weights from pivotal tuning (the engine's compact delta), or null when it draws
   * with its model's. Kept apart from the room's record: most reads of a room never need them.
   */
  getWeights(id: string): Promise<Uint8Array | null>;
  /**
   * Bytes the room holds in the store: its record's latent, image and document, its logged document updates,
   * every run's start snapshot (latent, image, mask), every step record's latent and frame, and its tuned
   * weights (what ServerLimits.roomStorageBytes limits). Computed by the database from the stored lengths.
   */
  storageBytes(id: string): Promise<number>;
  /** Rooms forked from this one, oldest first. */
  listForks(id: string): Promise<RoomRecord[]>;
  /** New edit and/or view token; the replaced ones stop resolving at once. */
  rotateTokens(id: string, which: 'edit' | 'view' | 'both'): Promise<{ editToken: string; viewToken: string }>;
  /** A real query against the database, for the readiness check; throws when it cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
