/**
 * One server per database. Two processes on one SQLite file would each keep their own copy of every loaded
 * document and store it over the other's, so the second one must not start. The lock is SQLite's own, on a
 * small lock database next to the data (`<db file>.lock`) opened with locking_mode=EXCLUSIVE: an OS-level
 * (fcntl) lock that the kernel drops when the process ends however it ends, so a killed server leaves
 * nothing that blocks its restart. The holder's pid is kept in the lock database's header (user_version),
 * where a refused process can read it without SQLite.
 *
 * POSIX locks belong to the process and closing any descriptor of the file releases them all: while this
 * process holds a lock it must never open the lock file itself, hence the `held` registry.
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, readSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly dbFile: string,
    readonly pid: number | null,
  ) {
    super(
      `the data directory ${dataDir} is in use by another studio server (${pid ? `pid ${pid}` : 'pid unknown'}, database ${basename(dbFile)}): ` +
        'stop that one first, or give this one another STABLEDRAG_DATA_DIR',
    );
    this.name = 'DataDirLockedError';
  }
}

/** Lock files this process holds (real paths: another spelling of the same file must match). */
const held = new Set<string>();

/** user_version: a 4-byte big-endian integer at offset 60 of a SQLite file's header. */
function readHolderPid(file: string): number | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const header = Buffer.alloc(64);
    if (readSync(fd, header, 0, 64, 0) < 64) return null;
    return header.readUInt32BE(60) || null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Takes the lock for `dbFile` (creating its directory), or throws DataDirLockedError at once. */
export function lockDataDir(dbFile: string): DataDirLock {
  mkdirSync(dirname(dbFile), { recursive: true });
  const dataDir = realpathSync(dirname(dbFile));
  const file = join(dataDir, `${basename(dbFile)}.lock`);
  const refuse = (pid: number | null) => new DataDirLockedError(dataDir, dbFile, pid);
  if (held.has(file)) throw refuse(process.pid);
  let db: Database.Database | undefined;
  for (let attempt = 1; !db; attempt++) {
    const conn = new Database(file, { timeout: 0 });
    try {
      conn.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the exclusive lock, and in this mode it is kept until the connection closes.
      conn.exec('BEGIN EXCLUSIVE');
      conn.pragma(`user_version = ${process.pid}`);
      conn.exec('COMMIT');
      db = conn;
    } catch (err) {
      conn.close();
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_BUSY') throw refuse(readHolderPid(file));
      // Not a database (say, truncated by a full disk): nobody can hold a lock on it, so it is made anew.
      if ((code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') && attempt === 1) {
        rmSync(file, { force: true });
        rmSync(`${file}-journal`, { force: true });
        continue;
      }
      throw err;
    }
  }
  held.add(file);
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      db.close();
      held.delete(file);
    },
  };
}
