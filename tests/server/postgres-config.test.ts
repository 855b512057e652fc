/**
 * DATABASE_URL: unset keeps SQLite in the data directory, postgres:// selects PostgreSQL, and a URL that
 * cannot work stops `npm start` at once with what to write instead (never a quiet fall-back to SQLite).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfig, REPO_ROOT } from '../../server/config.js';
import { describeDatabase, parseDatabaseUrl } from '../../server/db/database.js';

const env = (vars: Record<string, string>) => ({ STABLEDRAG_MODELS: REPO_ROOT, ...vars }) as unknown as NodeJS.ProcessEnv;

describe('DATABASE_URL', () => {
  it('selects PostgreSQL for postgres:// and postgresql://, SQLite when unset or empty', () => {
    expect(readConfig(env({})).database).toBeUndefined();
    expect(readConfig(env({ DATABASE_URL: '  ' })).database).toBeUndefined();
    const url = 'postgres://studio:s3cret@db.internal:5432/studio';
    expect(readConfig(env({ DATABASE_URL: url })).database).toEqual({ provider: 'postgresql', url });
    expect(parseDatabaseUrl('postgresql://localhost/studio?sslmode=require')?.provider).toBe('postgresql');
  });

  it('refuses URLs that cannot work, naming the problem', () => {
    expect(() => parseDatabaseUrl('postgress://localhost/studio')).toThrow("unsupported scheme 'postgress'");
    expect(() => parseDatabaseUrl('file:./studio.db')).toThrow("unsupported scheme 'file'");
    expect(() => parseDatabaseUrl('localhost:5432/studio')).toThrow('unsupported scheme');
    expect(() => parseDatabaseUrl('not a url')).toThrow('DATABASE_URL is not a URL');
    expect(() => parseDatabaseUrl('postgres://localhost:5432/')).toThrow('names no database');
    expect(() => parseDatabaseUrl('postgres:///studio')).toThrow('names no host');
  });

  it('keeps the password out of log lines', () => {
    expect(describeDatabase({ provider: 'postgresql', url: 'postgres://studio:s3cret@db:5432/studio' })).toBe('postgres://studio:***@db:5432/studio');
    expect(describeDatabase('/data/studio.db')).toBe('/data/studio.db');
  });

  it('stops `npm start` before anything else with a bad URL', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'server/index.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: 'postgress://localhost/studio', STABLEDRAG_MODELS: REPO_ROOT },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("cannot start: DATABASE_URL: unsupported scheme 'postgress'");
  });
});
