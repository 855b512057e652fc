/**
 * The two migration sets (prisma/migrations for SQLite, prisma/migrations-postgres for PostgreSQL) stay in
 * step: the same names in the same order, and each set, applied to an empty database of its provider, gives
 * exactly the tables, columns and indexes of prisma/schema.prisma (the schema engine's diff from the
 * migrated database to the schema is empty). On a real PostgreSQL 15.
 */
import { describe, expect, it } from 'vitest';
import { databaseOf, type DatabaseTarget } from '../../server/db/database.js';
import { MIGRATIONS_DIRS, NO_FILTERS, migrateDatabase, readMigrations, schemaFor } from '../../server/db/migrate.js';
import { openSchemaEngine } from '../../server/db/schema-engine.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { usePostgres } from './postgres-fixture.js';
import { tempDir } from './helpers.js';

/** The SQL that would take the migrated database to schema.prisma: empty when they agree. */
async function drift(target: DatabaseTarget, configDir: string): Promise<string> {
  const schema = schemaFor(databaseOf(target).provider);
  const { engine, close } = await openSchemaEngine(target, schema);
  try {
    const out = await engine.diff({
      from: { tag: 'schemaDatasource', files: [{ path: 'schema.prisma', content: schema }], configDir },
      to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] },
      script: true,
      exitCode: null,
      filters: NO_FILTERS,
    } as never);
    return (out as { stdout: string }).stdout.replace(/-- This is an empty migration\.\s*/i, '').trim();
  } finally {
    await close();
  }
}

describe('migrations of both providers', () => {
  const pg = usePostgres();
  const names = (dir: string) => readMigrations(dir).migrationDirectories.map((d) => d.path);

  it('have the same names in the same order, each with its SQL', () => {
    const sqlite = names(MIGRATIONS_DIRS.sqlite);
    expect(sqlite.length).toBeGreaterThan(0);
    expect(names(MIGRATIONS_DIRS.postgresql)).toEqual(sqlite);
    for (const provider of ['sqlite', 'postgresql'] as const) {
      const list = readMigrations(MIGRATIONS_DIRS[provider]);
      expect(list.lockfile.content).toContain(`provider = "${provider}"`);
      for (const m of list.migrationDirectories) expect(m.migrationFile.content.tag, `${provider} ${m.path}`).toBe('ok');
    }
  });

  it('each set takes an empty database to exactly schema.prisma', async () => {
    const tmp = tempDir();
    try {
      const file = `${tmp.dir}/studio.db`;
      const postgres = await pg.createDatabase();
      const all = names(MIGRATIONS_DIRS.sqlite);
      expect(await migrateDatabase(file)).toEqual(all);
      expect(await migrateDatabase(postgres)).toEqual(all);
      expect(await drift(file, tmp.dir)).toBe('');
      expect(await drift(postgres, tmp.dir)).toBe('');
    } finally {
      tmp.cleanup();
    }
  });

  it('on PostgreSQL, a second start applies nothing and keeps the data', async () => {
    const db = await pg.createDatabase();
    await migrateDatabase(db);
    const store = PrismaRoomStore.open(db);
    const room = await store.create({ title: 'keep me', model: 'tiny', seed: 1, latent: Float32Array.of(1, 2.5), image: Uint8Array.of(1, 2, 3), imageType: 'image/png' });
    await store.storeDocument(room.id, Uint8Array.of(9, 9));
    await store.close();

    expect(await migrateDatabase(db)).toEqual([]);
    const again = PrismaRoomStore.open(db);
    try {
      const back = await again.get(room.id);
      expect(back?.title).toBe('keep me');
      expect([...back!.latent]).toEqual([1, 2.5]);
      expect([...(await again.loadDocument(room.id)).state!]).toEqual([9, 9]);
      expect((await again.findByToken(room.viewToken))?.role).toBe('view');
      await again.ping();
    } finally {
      await again.close();
    }
  });
});
