/** A Prisma client on a SQLite file through the better-sqlite3 driver adapter (no native query engine). */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/client.js';

export type { PrismaClient };

export function createPrismaClient(dbFile: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: `file:${dbFile}` }) });
}
