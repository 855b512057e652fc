#!/usr/bin/env node
/**
 * `prisma generate`, offline. The CLI first tries to download a native schema engine it does not need for
 * generation; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips that, and CHECKPOINT_DISABLE
 * stops its telemetry call. Writes the client to server/db/generated (gitignored).
 *
 *   node prisma/generate.mjs            # always generate
 *   node prisma/generate.mjs --if-stale # only when the client is missing or older than the schema
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = join(root, 'prisma/schema.prisma');
const marker = join(root, 'server/db/generated/client.ts');

if (process.argv.includes('--if-stale') && existsSync(marker) && statSync(marker).mtimeMs >= statSync(schema).mtimeMs) {
  process.exit(0);
}
const cli = join(root, 'node_modules/prisma/build/index.js');
const res = spawnSync(process.execPath, [cli, 'generate', '--schema', schema], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: schema, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
process.exit(res.status ?? 1);
