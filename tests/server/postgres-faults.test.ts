/**
 * PostgreSQL faults the SQLite file never has: the server ends the store's connections (a failover, an
 * administrator, an idle timeout). The pool replaces them, and a write through the server's retry
 * (server/db/retry.ts) goes through: at most one try meets the dead connection (57P01).
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../server/db/migrate.js';
import { withRetries } from '../../server/db/retry.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { usePostgres } from './postgres-fixture.js';

describe('the store on PostgreSQL under faults', () => {
  const fx = usePostgres();

  it('names the server and the problem when the database cannot be reached at start, without the password', async () => {
    const good = new URL((await fx.createDatabase()).url);
    const missing = new URL(good);
    missing.pathname = '/no_such_db';
    missing.password = 'pw';
    await expect(migrateDatabase({ provider: 'postgresql', url: missing.toString() })).rejects.toThrow(
      `PostgreSQL at postgres://postgres:***@127.0.0.1:${good.port}/no_such_db: Database \`no_such_db\` does not exist`,
    );
    // Port 1 on loopback: nothing listens there.
    await expect(migrateDatabase({ provider: 'postgresql', url: 'postgres://studio:pw@127.0.0.1:1/studio' })).rejects.toThrow(
      "PostgreSQL at postgres://studio:***@127.0.0.1:1/studio: Can't reach database server",
    );
  });

  it('writes through once the server has ended its connections', async () => {
    const db = await fx.createDatabase();
    await migrateDatabase(db);
    const store = PrismaRoomStore.open(db);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const room = await store.create({ title: 'x', model: 'tiny', seed: 1, latent: Float32Array.of(1), image: Uint8Array.of(1), imageType: 'image/png' });
      const log: string[] = [];
      for (const value of [1, 2, 3]) {
        const ended = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
        expect(ended.rowCount).toBeGreaterThan(0);
        await withRetries('storing the document', () => store.storeDocument(room.id, Uint8Array.of(value)), { retries: 3, firstDelayMs: 20 }, (l) => log.push(l));
        expect([...(await store.loadDocument(room.id)).state!]).toEqual([value]);
      }
      // A retry, when one was needed, names PostgreSQL's reason.
      for (const line of log) expect(line).toMatch(/57P01|terminating connection|Connection/i);
      expect(log.length).toBeLessThanOrEqual(3);
    } finally {
      await admin.end();
      await store.close();
    }
  });
});
