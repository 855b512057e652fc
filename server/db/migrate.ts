/**
 * Applies the migrations to a database at start-up, offline, through the wasm schema engine. Same
 * semantics as `prisma migrate deploy`: only unapplied migrations run, in name order, and each is
 * recorded in `_prisma_migrations`, so a fresh database and an existing one both end up current without
 * losing data. Each provider has its own set with the same names (prisma/migrations for SQLite,
 * prisma/migrations-postgres for PostgreSQL), both written by prisma/make-migration.ts from schema.prisma;
 * tests/server/postgres-migrations.test.ts keeps them in step.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresSchema } from '../../prisma/provider-schema.mjs';
import { databaseOf, describeDatabase, type DatabaseProvider, type DatabaseTarget } from './database.js';
import { openSchemaEngine } from './schema-engine.js';

const PRISMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../prisma');
export const DEFAULT_SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');
export const DEFAULT_MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');

/** Each provider's migration folder. */
export const MIGRATIONS_DIRS: Record<DatabaseProvider, string> = {
  sqlite: DEFAULT_MIGRATIONS_DIR,
  postgresql: join(PRISMA_DIR, 'migrations-postgres'),
};

/** The schema for a provider: schema.prisma itself for SQLite, derived from it for PostgreSQL. */
export function schemaFor(provider: DatabaseProvider, schemaPath: string = DEFAULT_SCHEMA_PATH): string {
  const text = readFileSync(schemaPath, 'utf8');
  return provider === 'sqlite' ? text : postgresSchema(text);
}

export interface MigrationList {
  baseDir: string;
  lockfile: { path: string; content: string | null };
  shadowDbInitScript: string;
  migrationDirectories: { path: string; migrationFile: { path: string; content: { tag: 'ok'; value: string } | { tag: 'error'; value: string } } }[];
}

/** Reads the migrations folder the way the Prisma CLI hands it to the engine. */
export function readMigrations(migrationsDir: string = DEFAULT_MIGRATIONS_DIR): MigrationList {
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  const dirs = existsSync(migrationsDir)
    ? readdirSync(migrationsDir).filter((name) => statSync(join(migrationsDir, name)).isDirectory()).sort()
    : [];
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((name) => {
      const file = join(migrationsDir, name, 'migration.sql');
      return {
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: existsSync(file) ? { tag: 'ok', value: readFileSync(file, 'utf8') } : { tag: 'error', value: `missing ${file}` },
        },
      };
    }),
  };
}

export const NO_FILTERS = { externalTables: [], externalEnums: [] };

/**
 * Brings the database up to date (a SQLite file is created if missing; a PostgreSQL database must exist);
 * returns the names of the migrations applied now.
 */
export async function migrateDatabase(
  target: DatabaseTarget,
  opts: { schemaPath?: string; migrationsDir?: string } = {},
): Promise<string[]> {
  const db = databaseOf(target);
  if (db.provider === 'sqlite') mkdirSync(dirname(resolve(db.file)), { recursive: true });
  let opened: Awaited<ReturnType<typeof openSchemaEngine>>;
  try {
    opened = await openSchemaEngine(db, schemaFor(db.provider, opts.schemaPath));
  } catch (err) {
    // A server that is down or a database that does not exist: say which one (without its password).
    if (db.provider === 'sqlite') throw err;
    throw new Error(`PostgreSQL at ${describeDatabase(db)}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const { engine, close } = opened;
  try {
    const out = await engine.applyMigrations({
      migrationsList: readMigrations(opts.migrationsDir ?? MIGRATIONS_DIRS[db.provider]) as never,
      filters: NO_FILTERS,
    });
    return out.appliedMigrationNames;
  } finally {
    await close();
  }
}
