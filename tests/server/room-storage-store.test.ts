/**
 * A room's stored bytes as the store counts them (RoomStore.storageBytes), on SQLite and on a real PostgreSQL
 * 15: the room's latent, image and document, its logged document updates, each run's start snapshot and mask,
 * each step's latent and frame, and its tuned weights; nothing of another room.
 */
import { describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../server/db/database.js';
import { migrateDatabase } from '../../server/db/migrate.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { usePostgres } from './postgres-fixture.js';
import { tempDir } from './helpers.js';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * seed) % 251);

async function counts(target: DatabaseTarget): Promise<void> {
  await migrateDatabase(target);
  const store = PrismaRoomStore.open(target);
  try {
    const room = await store.create({ title: 'r', model: 'tiny', seed: 0, latent: new Float32Array(16), image: bytes(300), imageType: 'image/png' });
    const other = await store.create({ title: 'o', model: 'tiny', seed: 0, latent: new Float32Array(16), image: bytes(5000), imageType: 'image/png' });
    let want = 64 + 300;
    expect(await store.storageBytes(room.id)).toBe(want);
    await store.storeDocument(room.id, bytes(120));
    await store.appendDocumentUpdate(room.id, bytes(30));
    await store.appendDocumentUpdate(room.id, bytes(20));
    want += 120 + 30 + 20;
    expect(await store.storageBytes(room.id)).toBe(want);
    const run = await store.createRun({
      id: 'run-1', roomId: room.id, startedBy: null, kind: 'drag', method: 'stabledrag', points: [], settings: {}, mask: bytes(64), maskStrokes: [],
      latentBefore: new Float32Array(16), imageBefore: bytes(300), imageBeforeType: 'image/png',
    });
    want += 64 + 300 + 64;
    // A step with a frame, one with only its latent (stored-frames.ts).
    const step = { runId: run.id, handles: [], distances: [], confidences: [], latent: new Float32Array(16), frameType: 'image/webp', elapsedMs: 1 };
    await store.addStep({ ...step, step: 0, frame: bytes(700) });
    await store.addStep({ ...step, step: 1, frame: null, frameType: null });
    want += 64 + 700 + 64;
    expect(await store.storageBytes(room.id)).toBe(want);
    await store.finishRun(run.id, { reason: 'done', steps: 1 }, { roomId: room.id, latent: new Float32Array(16), image: bytes(400), imageType: 'image/png', docUpdate: null, weights: bytes(4096) });
    // The room's image is now 400 bytes; the weights are counted too.
    want += 100 + 4096;
    expect(await store.storageBytes(room.id)).toBe(want);
    expect(await store.storageBytes(other.id)).toBe(64 + 5000);
    expect(await store.storageBytes('no-such-room')).toBe(0);
    await store.delete(room.id);
    expect(await store.storageBytes(room.id)).toBe(0);
  } finally {
    await store.close();
  }
}

describe('a room\'s stored bytes', () => {
  const pg = usePostgres();

  it('on SQLite', async () => {
    const tmp = tempDir();
    try {
      await counts(`${tmp.dir}/studio.db`);
    } finally {
      tmp.cleanup();
    }
  });

  it('on PostgreSQL', async () => {
    await counts(await pg.createDatabase());
  });
});
