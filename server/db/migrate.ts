/**
 * Applies prisma/migrations to a database at start-up, offline, through the wasm schema engine. Same
 * semantics as `prisma migrate deploy`: only unapplied migrations run, in name order, and each is
 * recorded in `_prisma_migrations`, so a fresh database and an existing one both end up current without
 * losing data.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSchemaEngine } from './schema-engine.js';

const PRISMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../prisma');
export const DEFAULT_SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');
export const DEFAULT_MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');

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

/** Brings the SQLite file (created if missing) up to date; returns the names of the migrations applied now. */
export async function migrateDatabase(
  dbFile: string,
  opts: { schemaPath?: string; migrationsDir?: string } = {},
): Promise<string[]> {
  mkdirSync(dirname(resolve(dbFile)), { recursive: true });
  const schema = readFileSync(opts.schemaPath ?? DEFAULT_SCHEMA_PATH, 'utf8');
  const { engine, close } = await openSchemaEngine(dbFile, schema);
  try {
    const out = await engine.applyMigrations({
      migrationsList: readMigrations(opts.migrationsDir) as never,
      filters: NO_FILTERS,
    });
    return out.appliedMigrationNames;
  } finally {
    await close();
  }
}
