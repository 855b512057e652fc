/**
 * The run-history migration (issue 5) on a database that the previous migration created and that holds
 * data: the rooms, documents and tokens survive, and the new tables work on them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DEFAULT_MIGRATIONS_DIR, migrateDatabase, readMigrations } from '../../server/db/migrate.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { tempDir } from './helpers.js';

describe('run history migration', () => {
  const tmps: ReturnType<typeof tempDir>[] = [];
  afterEach(() => tmps.splice(0).forEach((t) => t.cleanup()));

  it('adds runs and steps to a database created by the previous migration without losing its rooms', async () => {
    const tmp = tempDir();
    tmps.push(tmp);
    const all = readMigrations().migrationDirectories.map((d) => d.path);
    const at = all.findIndex((name) => name.endsWith('_run_history'));
    expect(at).toBeGreaterThan(0);
    // The migrations folder as it was before this one.
    const old = `${tmp.dir}/old-migrations`;
    mkdirSync(old);
    cpSync(`${DEFAULT_MIGRATIONS_DIR}/migration_lock.toml`, `${old}/migration_lock.toml`);
    for (const name of all.slice(0, at)) cpSync(`${DEFAULT_MIGRATIONS_DIR}/${name}`, `${old}/${name}`, { recursive: true });
    const file = `${tmp.dir}/studio.db`;
    expect(await migrateDatabase(file, { migrationsDir: old })).toEqual(all.slice(0, at));

    // Data written through the old schema, as the old server would have.
    const db = new Database(file);
    const latent = Buffer.from(Float32Array.of(1, -2, 3.5).buffer);
    const insert = db.prepare(
      'INSERT INTO Room (id, title, model, seed, parentRoomId, editToken, viewToken, latent, image, imageType, ydoc, updatedAt) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
    );
    insert.run('room-a', 'Old room', 'tiny', 7, null, 'e'.repeat(22), 'v'.repeat(22), latent, Buffer.from([1, 2, 3]), 'image/png', Buffer.from([9, 8]), Date.now());
    insert.run('room-b', 'Old child', 'tiny', 7, 'room-a', 'f'.repeat(22), 'w'.repeat(22), latent, Buffer.from([4]), 'image/png', Buffer.alloc(0), Date.now());
    db.close();

    expect(await migrateDatabase(file)).toEqual(all.slice(at));
    const store = PrismaRoomStore.open(file);
    try {
      const a = (await store.get('room-a'))!;
      expect(a).toMatchObject({ title: 'Old room', seed: 7, parentRoomId: null, forkRunId: null, forkStep: null, editToken: 'e'.repeat(22) });
      expect([...a.latent]).toEqual([1, -2, 3.5]);
      expect([...a.image]).toEqual([1, 2, 3]);
      expect([...(await store.loadDocument('room-a')).state!]).toEqual([9, 8]);
      expect((await store.listForks('room-a')).map((r) => r.id)).toEqual(['room-b']);
      // The new tables work on the old rooms.
      await store.createRun({
        id: 'run-1', roomId: 'room-a', startedBy: null, kind: 'drag', method: 'stabledrag', points: [{ id: 'p', handle: [1, 2], target: [3, 4] }],
        settings: { maxSteps: 2 }, mask: null, maskStrokes: null, latentBefore: a.latent, imageBefore: a.image, imageBeforeType: 'image/png',
      });
      await store.addStep({ runId: 'run-1', step: 0, handles: [[1, 2]], distances: [2.8], confidences: [1], latent: a.latent, frame: Uint8Array.of(5), frameType: 'image/webp', elapsedMs: 3 });
      await store.finishRun('run-1', { reason: 'max-steps', steps: 1 });
      expect((await store.listRuns('room-a')).map((r) => [r.seq, r.status, r.endReason])).toEqual([[1, 'ended', 'max-steps']]);
      expect([...(await store.getStep('run-1', 0))!.latent]).toEqual([1, -2, 3.5]);
    } finally {
      await store.close();
    }
    expect(await migrateDatabase(file)).toEqual([]);
  });
});
