/**
 * Developer tool, the offline stand-in for `prisma migrate dev --create-only`: writes a new folder under
 * prisma/migrations with the SQL that takes the existing migrations to prisma/schema.prisma.
 *
 *   npx tsx prisma/make-migration.ts <name>
 *
 * Review the SQL (SQLite rebuilds tables for some changes) before committing it; never edit a migration
 * that has been committed, add a new one.
 */
import { mkdirSync, writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { openSchemaEngine } from '../server/db/schema-engine.js';
import { DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH, NO_FILTERS, readMigrations } from '../server/db/migrate.js';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npx tsx prisma/make-migration.ts <snake_case_name>');
  process.exit(2);
}
const schema = readFileSync(DEFAULT_SCHEMA_PATH, 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'stabledrag-migrate-'));
// The diff replays existing migrations on a scratch database (the "shadow database") to know where they lead.
const { engine, close } = await openSchemaEngine(join(scratch, 'scratch.db'), schema);
const migrations = readMigrations();
await engine.applyMigrations({ migrationsList: migrations as never, filters: NO_FILTERS });
const result = await engine.diff({
  // 'schemaDatasource' means the database the engine's driver adapter is connected to: the scratch file.
  from: { tag: 'schemaDatasource', files: [{ path: 'schema.prisma', content: schema }], configDir: scratch },
  to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] },
  script: true,
  exitCode: null,
  filters: NO_FILTERS,
} as never);
await close();
rmSync(scratch, { recursive: true, force: true });
const sql = (result as { stdout: string }).stdout;
if (!sql.trim() || /empty migration/i.test(sql)) {
  console.log('schema.prisma matches the migrations; nothing to write');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = join(DEFAULT_MIGRATIONS_DIR, `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'migration.sql'), sql);
writeFileSync(join(DEFAULT_MIGRATIONS_DIR, 'migration_lock.toml'), '# Written by prisma/make-migration.ts\nprovider = "sqlite"\n');
console.log(`wrote ${dir}/migration.sql`);
