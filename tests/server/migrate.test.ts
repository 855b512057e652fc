/** Migrations through the wasm schema engine: a fresh database, a re-run, and data surviving both. */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { migrateDatabase, readMigrations } from '../../server/db/migrate.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { tempDir } from './helpers.js';

describe('database migrations', () => {
  const tmps: ReturnType<typeof tempDir>[] = [];
  afterEach(() => tmps.splice(0).forEach((t) => t.cleanup()));

  it('migrates a fresh database, then is a no-op that keeps the data', async () => {
    const tmp = tempDir();
    tmps.push(tmp);
    const file = `${tmp.dir}/nested/studio.db`;
    const all = readMigrations().migrationDirectories.map((d) => d.path);
    expect(all.length).toBeGreaterThan(0);
    expect(await migrateDatabase(file)).toEqual(all);

    const store = PrismaRoomStore.open(file);
    const room = await store.create({ title: 'keep me', model: 'tiny', seed: 1, latent: Float32Array.of(1, 2.5), image: Uint8Array.of(1, 2, 3), imageType: 'image/png' });
    await store.storeDocument(room.id, Uint8Array.of(9, 9));
    await store.close();

    expect(await migrateDatabase(file)).toEqual([]);
    const again = PrismaRoomStore.open(file);
    const back = await again.get(room.id);
    expect(back?.title).toBe('keep me');
    expect([...back!.latent]).toEqual([1, 2.5]);
    expect([...(await again.loadDocument(room.id)).state!]).toEqual([9, 9]);
    expect((await again.findByToken(room.viewToken))?.role).toBe('view');
    expect((await again.findByToken(room.editToken))?.role).toBe('edit');
    await again.close();

    // Every migration is recorded as finished, and the lock is released (a plain connection can write).
    const db = new Database(file);
    const rows = db.prepare('SELECT migration_name, finished_at FROM _prisma_migrations').all() as { migration_name: string; finished_at: unknown }[];
    expect(rows.map((r) => r.migration_name).sort()).toEqual(all);
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
    db.prepare('UPDATE Room SET title = ? WHERE id = ?').run('still writable', room.id);
    db.close();
  });
});
