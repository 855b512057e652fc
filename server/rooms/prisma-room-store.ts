/** RoomStore on Prisma (SQLite through better-sqlite3 today). */
import type { PrismaClient } from '../db/client.js';
import { createPrismaClient } from '../db/client.js';
import type { NewRoom, RoomRecord, RoomStore } from './room-store.js';
import { newRoomId, newToken, looksLikeToken } from './tokens.js';

type Row = Awaited<ReturnType<PrismaClient['room']['findUnique']>> & {};

const roomSelect = {
  id: true, title: true, model: true, seed: true, parentRoomId: true, editToken: true, viewToken: true,
  latent: true, image: true, imageType: true, createdAt: true, updatedAt: true,
} as const;

function toFloat32(bytes: Uint8Array): Float32Array {
  // Copy: the driver's buffer may be unaligned or shared with a pool.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

function fromFloat32(latent: Float32Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(latent.buffer.slice(latent.byteOffset, latent.byteOffset + latent.byteLength) as ArrayBuffer);
}

function toRecord(row: Omit<Row, 'ydoc'>): RoomRecord {
  return {
    id: row.id, title: row.title, model: row.model, seed: row.seed, parentRoomId: row.parentRoomId,
    editToken: row.editToken, viewToken: row.viewToken,
    latent: toFloat32(row.latent), image: new Uint8Array(row.image), imageType: row.imageType,
    createdAt: row.createdAt, updatedAt: row.updatedAt,
  };
}

export class PrismaRoomStore implements RoomStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Opens a store on a SQLite file that migrateDatabase has brought up to date. */
  static open(dbFile: string): PrismaRoomStore {
    return new PrismaRoomStore(createPrismaClient(dbFile));
  }

  async create(room: NewRoom): Promise<RoomRecord> {
    const row = await this.prisma.room.create({
      data: {
        id: newRoomId(), title: room.title, model: room.model, seed: room.seed, parentRoomId: room.parentRoomId ?? null,
        editToken: newToken(), viewToken: newToken(),
        latent: fromFloat32(room.latent), image: Uint8Array.from(room.image), imageType: room.imageType,
        ydoc: new Uint8Array(0),
      },
      select: roomSelect,
    });
    return toRecord(row);
  }

  async get(id: string): Promise<RoomRecord | null> {
    const row = await this.prisma.room.findUnique({ where: { id }, select: roomSelect });
    return row ? toRecord(row) : null;
  }

  async findByToken(token: string): Promise<{ room: RoomRecord; role: 'edit' | 'view' } | null> {
    if (!looksLikeToken(token)) return null;
    const row = await this.prisma.room.findFirst({ where: { OR: [{ editToken: token }, { viewToken: token }] }, select: roomSelect });
    if (!row) return null;
    return { room: toRecord(row), role: row.editToken === token ? 'edit' : 'view' };
  }

  async listRecent(limit: number): Promise<RoomRecord[]> {
    const rows = await this.prisma.room.findMany({ orderBy: { updatedAt: 'desc' }, take: limit, select: roomSelect });
    return rows.map(toRecord);
  }

  async saveImage(id: string, state: { latent: Float32Array; image: Uint8Array; imageType: string }): Promise<void> {
    await this.prisma.room.update({
      where: { id },
      data: { latent: fromFloat32(state.latent), image: Uint8Array.from(state.image), imageType: state.imageType },
    });
  }

  async loadDocument(id: string): Promise<Uint8Array | null> {
    const row = await this.prisma.room.findUnique({ where: { id }, select: { ydoc: true } });
    return row && row.ydoc.byteLength > 0 ? new Uint8Array(row.ydoc) : null;
  }

  async storeDocument(id: string, state: Uint8Array): Promise<void> {
    await this.prisma.room.update({ where: { id }, data: { ydoc: Uint8Array.from(state) } });
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
