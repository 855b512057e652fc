/**
 * Which database the server keeps its state in. SQLite (a file in the data directory) is the default and
 * needs nothing installed; PostgreSQL is chosen with DATABASE_URL=postgres://... for deployments where
 * several processes share one store. A plain string is a SQLite file path, so callers that only know
 * SQLite (benchmarks, tests) keep passing a path.
 */
export type DatabaseProvider = 'sqlite' | 'postgresql';

export type Database = { provider: 'sqlite'; file: string } | { provider: 'postgresql'; url: string };

/** A SQLite file path or a database description, as the store, the client and the migrations accept it. */
export type DatabaseTarget = string | Database;

export function databaseOf(target: DatabaseTarget): Database {
  return typeof target === 'string' ? { provider: 'sqlite', file: target } : target;
}

const POSTGRES_SCHEMES = new Set(['postgres:', 'postgresql:']);

/**
 * Reads DATABASE_URL: unset or empty keeps SQLite (undefined); postgres:// or postgresql:// with a host
 * and a database name selects PostgreSQL. Anything else is refused with the expected form, rather than
 * quietly falling back to SQLite on a typo and splitting the team's data between two stores.
 */
export function parseDatabaseUrl(value: string | undefined): Database | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const expected = 'expected postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave DATABASE_URL unset to keep SQLite in STABLEDRAG_DATA_DIR';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`DATABASE_URL is not a URL (${expected})`);
  }
  if (!POSTGRES_SCHEMES.has(url.protocol)) {
    throw new Error(`DATABASE_URL: unsupported scheme '${url.protocol.replace(/:$/, '')}' (${expected})`);
  }
  if (!url.hostname) throw new Error(`DATABASE_URL names no host (${expected})`);
  if (!decodeURIComponent(url.pathname.replace(/^\//, ''))) throw new Error(`DATABASE_URL names no database (${expected})`);
  return { provider: 'postgresql', url: text };
}

/** The database in a log line: the SQLite path, or the PostgreSQL URL without its password. */
export function describeDatabase(target: DatabaseTarget): string {
  const db = databaseOf(target);
  if (db.provider === 'sqlite') return db.file;
  const url = new URL(db.url);
  if (url.password) url.password = '***';
  return url.toString();
}
