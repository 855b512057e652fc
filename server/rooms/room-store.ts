/**
 * Persistence of rooms, behind an interface so the server never touches Prisma directly (a PostgreSQL or
 * in-memory store can replace the SQLite one). Issue 5 adds run/step history next to these methods.
 */
import type { Role } from '../protocol/events.js';
import type { HistoryStore } from './history-store.js';

export interface NewRoom {
  title: string;
  model: string;
  seed: number;
  parentRoomId?: string | null;
  forkRunId?: string | null;
  forkStep?: number | null;
  latent: Float32Array;
  image: Uint8Array;
  imageType: string;
}

export interface RoomRecord {
  id: string;
  title: string;
  model: string;
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

export interface RoomStore extends HistoryStore {
  /** Creates a room with fresh id and tokens. */
  create(room: NewRoom): Promise<RoomRecord>;
  get(id: string): Promise<RoomRecord | null>;
  /** Resolves an edit or view token to its room and the role the token grants. */
  findByToken(token: string): Promise<{ room: RoomRecord; role: Role } | null>;
  /** Most recently updated first. */
  listRecent(limit: number): Promise<RoomRecord[]>;
  /** The room's current state after a finished run. */
  saveImage(id: string, state: { latent: Float32Array; image: Uint8Array; imageType: string }): Promise<void>;
  /** The Yjs document state (Y.encodeStateAsUpdate), or null before the first store. */
  loadDocument(id: string): Promise<Uint8Array | null>;
  storeDocument(id: string, state: Uint8Array): Promise<void>;
  /** Rooms forked from this one, oldest first. */
  listForks(id: string): Promise<RoomRecord[]>;
  close(): Promise<void>;
}
