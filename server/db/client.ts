/**
 * A Prisma client on the server's database: a SQLite file through the better-sqlite3 driver adapter (WAL,
 * synchronous=NORMAL and a busy timeout, see SQLITE_PRAGMAS in sqlite.ts), or PostgreSQL through the pg
 * driver adapter. Neither needs a native query engine.
 */
import { PrismaClient } from './generated/client.js';
import { PrismaClient as PostgresPrismaClient } from './generated-pg/client.js';
import { databaseOf, type DatabaseTarget } from './database.js';
import { postgresAdapter } from './postgres.js';
import { sqliteAdapter } from './sqlite.js';

export type { PrismaClient };

export function createPrismaClient(target: DatabaseTarget): PrismaClient {
  const db = databaseOf(target);
  if (db.provider === 'sqlite') return new PrismaClient({ adapter: sqliteAdapter(db.file) });
  // Both clients are generated from the same models (prisma/provider-schema.mjs), so they have the same
  // model API; only the provider they accept differs. The store is typed against the SQLite one.
  return new PostgresPrismaClient({ adapter: postgresAdapter(db.url) }) as unknown as PrismaClient;
}
