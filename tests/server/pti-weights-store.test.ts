/**
 * A room's tuned weights in the store, on SQLite and on a real PostgreSQL 15: written with a run's end (in the
 * same transaction as its latent and image), replaced by a later one, given to a new room (a fork), read apart
 * from the room's record, and deleted with the room.
 */
import { describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../server/db/database.js';
import { migrateDatabase } from '../../server/db/migrate.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { usePostgres } from './postgres-fixture.js';
import { tempDir } from './helpers.js';

async function roundTrip(target: DatabaseTarget): Promise<void> {
  await migrateDatabase(target);
  const store = PrismaRoomStore.open(target);
  try {
    const room = await store.create({ title: 'photo', model: 'tiny', seed: 0, latent: Float32Array.of(1, 2), image: Uint8Array.of(1), imageType: 'image/png' });
    expect(await store.getWeights(room.id)).toBeNull();
    const run = await store.createRun({
      id: 'run-1', roomId: room.id, startedBy: null, kind: 'invert', method: 'invert', points: [], settings: {}, mask: null, maskStrokes: null,
      latentBefore: room.latent, imageBefore: room.image, imageBeforeType: room.imageType,
    });
    const weights = Uint8Array.from({ length: 4096 }, (_, i) => i % 251);
    await store.finishRun(run.id, { reason: 'done', steps: 3 }, { roomId: room.id, latent: Float32Array.of(3, 4), image: Uint8Array.of(2), imageType: 'image/png', docUpdate: null, weights });
    expect(Array.from((await store.getWeights(room.id))!)).toEqual(Array.from(weights));
    expect(Array.from((await store.get(room.id))!.latent)).toEqual([3, 4]);
    // A run's end without weights leaves the room's; one with weights replaces them.
    const run2 = await store.createRun({ ...run, id: 'run-2', kind: 'drag', method: 'stabledrag' });
    await store.finishRun(run2.id, { reason: 'done', steps: 1 }, { roomId: room.id, latent: Float32Array.of(5, 6), image: Uint8Array.of(3), imageType: 'image/png', docUpdate: null });
    expect((await store.getWeights(room.id))!.byteLength).toBe(4096);
    const run3 = await store.createRun({ ...run, id: 'run-3' });
    await store.finishRun(run3.id, { reason: 'done', steps: 1 }, { roomId: room.id, latent: Float32Array.of(5, 6), image: Uint8Array.of(3), imageType: 'image/png', docUpdate: null, weights: Uint8Array.of(9) });
    expect(Array.from((await store.getWeights(room.id))!)).toEqual([9]);
    // A fork is created with its parent's weights; deleting either room deletes only its own.
    const fork = await store.create({ title: 'fork', model: 'tiny', seed: 0, parentRoomId: room.id, latent: Float32Array.of(5, 6), image: Uint8Array.of(3), imageType: 'image/png', weights: Uint8Array.of(9) });
    expect(Array.from((await store.getWeights(fork.id))!)).toEqual([9]);
    await store.delete(room.id);
    expect(await store.getWeights(room.id)).toBeNull();
    expect(Array.from((await store.getWeights(fork.id))!)).toEqual([9]);
    await store.delete(fork.id);
    expect(await store.getWeights(fork.id)).toBeNull();
  } finally {
    await store.close();
  }
}

describe('a room\'s tuned weights in the store', () => {
  const pg = usePostgres();

  it('on SQLite', async () => {
    const tmp = tempDir();
    try {
      await roundTrip(`${tmp.dir}/studio.db`);
    } finally {
      tmp.cleanup();
    }
  });

  it('on PostgreSQL', async () => {
    await roundTrip(await pg.createDatabase());
  });
});
