#!/usr/bin/env node
/**
 * `prisma generate`, offline, for both providers: the SQLite client (server/db/generated) from
 * prisma/schema.prisma and the PostgreSQL client (server/db/generated-pg) from the schema derived from it
 * (prisma/provider-schema.mjs). A generated client is tied to one provider, hence two. The CLI first tries
 * to download a native schema engine it does not need for generation; pointing PRISMA_SCHEMA_ENGINE_BINARY
 * at any existing file skips that, and CHECKPOINT_DISABLE stops its telemetry call. Both folders are gitignored.
 *
 *   node prisma/generate.mjs            # always generate
 *   node prisma/generate.mjs --if-stale # only when a client is missing or older than the schema
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresSchema } from './provider-schema.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = join(root, 'prisma/schema.prisma');
const markers = [join(root, 'server/db/generated/client.ts'), join(root, 'server/db/generated-pg/client.ts')];
const derivation = join(root, 'prisma/provider-schema.mjs');
const newest = Math.max(statSync(schema).mtimeMs, statSync(derivation).mtimeMs);

if (process.argv.includes('--if-stale') && markers.every((m) => existsSync(m) && statSync(m).mtimeMs >= newest)) {
  process.exit(0);
}
const cli = join(root, 'node_modules/prisma/build/index.js');
function generate(schemaPath) {
  const res = spawnSync(process.execPath, [cli, 'generate', '--schema', schemaPath], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: schema, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  return res.status ?? 1;
}
let status = generate(schema);
if (status === 0) {
  const scratch = mkdtempSync(join(tmpdir(), 'stabledrag-pg-schema-'));
  try {
    const pgSchema = join(scratch, 'schema.prisma');
    writeFileSync(pgSchema, postgresSchema(readFileSync(schema, 'utf8'), join(root, 'server/db/generated-pg')));
    status = generate(pgSchema);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
process.exit(status);
