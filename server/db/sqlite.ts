/**
 * The better-sqlite3 driver adapter as every part of the server opens it (the Prisma client and the
 * migration engine), with the same pragmas on each connection. No generated-client import here, so the
 * migration tools work before `prisma generate`.
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';

/**
 * Run on every connection:
 * - journal_mode=WAL: readers never block the writer, and a commit is one append to the -wal file. The mode
 *   is stored in the database file, so it stays in WAL for any later connection too.
 * - synchronous=NORMAL: in WAL mode a commit has been written to the -wal file (write(2), no fsync) when it
 *   returns; the WAL is fsynced at checkpoints. That is durable against the process being killed (SIGKILL,
 *   OOM, a crash: the OS keeps the written pages); only an OS crash or power loss can lose the last commits,
 *   and the database stays consistent even then. FULL would fsync on every commit.
 * - busy_timeout: wait up to 5 s for another connection's write lock instead of failing with SQLITE_BUSY
 *   (the migration engine, a second process, a `sqlite3` shell).
 */
export const SQLITE_PRAGMAS = 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;';

async function withPragmas(connect: () => Promise<SqlDriverAdapter>): Promise<SqlDriverAdapter> {
  const adapter = await connect();
  await adapter.executeScript(SQLITE_PRAGMAS);
  return adapter;
}

/** The better-sqlite3 driver adapter for a SQLite file, running SQLITE_PRAGMAS on each connection it opens. */
export function sqliteAdapter(dbFile: string): SqlMigrationAwareDriverAdapterFactory {
  const inner = new PrismaBetterSqlite3({ url: `file:${dbFile}`, timeout: 5000 });
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: () => withPragmas(() => inner.connect()),
    // The shadow database is in memory (migration diffs only): nothing to set.
    connectToShadowDb: () => inner.connectToShadowDb(),
  };
}
