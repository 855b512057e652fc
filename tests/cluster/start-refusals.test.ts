/**
 * `npm start` (server/index.ts) in cluster mode refuses a database that cannot be shared before it does
 * anything else, saying what to set, and exits 2 (a setting to change, not a crash to restart on).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../server/helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');

function start(env: Record<string, string>) {
  const tmp = tempDir();
  try {
    const { DATABASE_URL: _drop, ...rest } = process.env;
    return spawnSync(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
      cwd: ROOT,
      env: { ...rest, STABLEDRAG_DATA_DIR: tmp.dir, PORT: '0', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  } finally {
    tmp.cleanup();
  }
}

describe('npm start in cluster mode', () => {
  it('refuses SQLite when REDIS_URL is set', () => {
    const res = start({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/cannot start: REDIS_URL is set \(cluster mode\) but DATABASE_URL is not a postgres:\/\/ URL/);
  }, 90_000);

  it('refuses a malformed node id', () => {
    const res = start({ REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://u@127.0.0.1:1/db', STABLEDRAG_NODE_ID: 'has space' });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/STABLEDRAG_NODE_ID/);
  }, 90_000);
});
