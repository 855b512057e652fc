/**
 * A Prisma client on a SQLite file through the better-sqlite3 driver adapter (no native query engine), in
 * WAL mode with synchronous=NORMAL and a busy timeout (see SQLITE_PRAGMAS in sqlite.ts).
 */
import { PrismaClient } from './generated/client.js';
import { sqliteAdapter } from './sqlite.js';

export type { PrismaClient };

export function createPrismaClient(dbFile: string): PrismaClient {
  return new PrismaClient({ adapter: sqliteAdapter(dbFile) });
}
