/**
 * Developer tool, the offline stand-in for `prisma migrate dev --create-only`, for both providers: writes
 * prisma/migrations/<stamp>_<name> (SQLite) and prisma/migrations-postgres/<stamp>_<name> (PostgreSQL), each
 * with the SQL that takes that provider's existing migrations to prisma/schema.prisma. The PostgreSQL diff
 * runs on a throwaway server (prisma/postgres-cluster.ts), so Debian's postgresql package must be installed.
 *
 *   npx tsx prisma/make-migration.ts <name>
 *   npx tsx prisma/make-migration.ts --folder <stamp>_<name> --provider postgresql [--schema FILE]
 *
 * The second form writes one provider's twin of a migration the other set already has: the folder name is
 * kept, only the migrations sorting before it are replayed, and FILE (e.g. schema.prisma as of that
 * migration's commit) is the target. Review the SQL (SQLite rebuilds tables for some changes) before
 * committing it; never edit a migration that has been committed, add a new one.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Database, DatabaseProvider } from '../server/db/database.js';
import { openSchemaEngine } from '../server/db/schema-engine.js';
import { DEFAULT_SCHEMA_PATH, MIGRATIONS_DIRS, NO_FILTERS, readMigrations, type MigrationList } from '../server/db/migrate.js';
import { postgresSchema } from './provider-schema.mjs';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { folder: { type: 'string' }, provider: { type: 'string' }, schema: { type: 'string' } },
});
const name = positionals[0];
const folder = values.folder ?? (name && /^[a-z0-9_]+$/.test(name) ? `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${name}` : undefined);
const providers: DatabaseProvider[] = values.provider ? [values.provider as DatabaseProvider] : ['sqlite', 'postgresql'];
if (!folder || providers.some((p) => !(p in MIGRATIONS_DIRS))) {
  console.error('usage: npx tsx prisma/make-migration.ts <snake_case_name>\n       npx tsx prisma/make-migration.ts --folder <stamp>_<name> --provider sqlite|postgresql [--schema FILE]');
  process.exit(2);
}
const sqliteSchema = readFileSync(values.schema ?? DEFAULT_SCHEMA_PATH, 'utf8');
const LOCK = { sqlite: 'sqlite', postgresql: 'postgresql' } as const;

/** The existing migrations that come before `folder`. */
function migrationsBefore(provider: DatabaseProvider): MigrationList {
  const all = readMigrations(MIGRATIONS_DIRS[provider]);
  return { ...all, migrationDirectories: all.migrationDirectories.filter((m) => m.path < folder!) };
}

/** The SQL from `provider`'s migrations to the schema, computed on a scratch database. */
async function diff(provider: DatabaseProvider, db: Database, scratch: string): Promise<string> {
  const schema = provider === 'sqlite' ? sqliteSchema : postgresSchema(sqliteSchema);
  const { engine, close } = await openSchemaEngine(db, schema);
  try {
    await engine.applyMigrations({ migrationsList: migrationsBefore(provider) as never, filters: NO_FILTERS });
    const result = await engine.diff({
      // 'schemaDatasource' means the database the engine's driver adapter is connected to: the scratch one.
      from: { tag: 'schemaDatasource', files: [{ path: 'schema.prisma', content: schema }], configDir: scratch },
      to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] },
      script: true,
      exitCode: null,
      filters: NO_FILTERS,
    } as never);
    return (result as { stdout: string }).stdout;
  } finally {
    await close();
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'stabledrag-migrate-'));
let cluster: PostgresCluster | undefined;
try {
  for (const provider of providers) {
    let db: Database;
    if (provider === 'sqlite') db = { provider, file: join(scratch, 'scratch.db') };
    else {
      cluster ??= await startPostgresCluster();
      db = { provider, url: await cluster.createDatabase('scratch') };
    }
    const sql = await diff(provider, db, scratch);
    const dir = MIGRATIONS_DIRS[provider];
    const otherHasIt = Object.values(MIGRATIONS_DIRS).some((d) => d !== dir && existsSync(join(d, folder)));
    if ((!sql.trim() || /empty migration/i.test(sql)) && !otherHasIt) {
      console.log(`${provider}: schema.prisma matches the migrations; nothing to write`);
      continue;
    }
    mkdirSync(join(dir, folder), { recursive: true });
    // Both sets keep the same names: a change that needs no SQL on this provider still gets its folder.
    writeFileSync(join(dir, folder, 'migration.sql'), sql.trim() && !/empty migration/i.test(sql) ? sql : `-- No change on ${provider}.\nSELECT 1;\n`);
    writeFileSync(join(dir, 'migration_lock.toml'), `# Written by prisma/make-migration.ts\nprovider = "${LOCK[provider]}"\n`);
    console.log(`wrote ${join(dir, folder)}/migration.sql`);
  }
} finally {
  cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
}
