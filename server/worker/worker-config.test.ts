import { describe, expect, it } from 'vitest';
import { readWorkerConfig } from './worker-config.js';

const REDIS = { REDIS_URL: 'redis://127.0.0.1:6379' };
/** The variables a test sets, as the environment (which the project's types say always has NODE_ENV). */
const env = (vars: Record<string, string>) => vars as unknown as NodeJS.ProcessEnv;

describe('npm run worker settings', () => {
  it('needs REDIS_URL and reads prefix and node id as a web node does', () => {
    expect(() => readWorkerConfig(env({}))).toThrow(/REDIS_URL/);
    const c = readWorkerConfig(env({ ...REDIS, STABLEDRAG_REDIS_PREFIX: 'staging:eu', STABLEDRAG_NODE_ID: 'gpu-1' }));
    expect(c).toMatchObject({ prefix: 'staging:eu', nodeId: 'gpu-1', healthPort: undefined, drainMs: 60_000, lockMs: 30_000 });
    expect(() => readWorkerConfig(env({ ...REDIS, STABLEDRAG_REDIS_PREFIX: 'a b' }))).toThrow(/STABLEDRAG_REDIS_PREFIX/);
    expect(() => readWorkerConfig(env({ ...REDIS, STABLEDRAG_NODE_ID: 'x\n[worker] ready' }))).toThrow(/STABLEDRAG_NODE_ID/);
  });

  it('reads the health port and drain time, refusing values that cannot work', () => {
    expect(readWorkerConfig(env({ ...REDIS, STABLEDRAG_WORKER_PORT: '3001', STABLEDRAG_WORKER_DRAIN_SECONDS: '2.5' }))).toMatchObject({ healthPort: 3001, drainMs: 2500 });
    for (const port of ['http', '70000', '-1', '3001x']) expect(() => readWorkerConfig(env({ ...REDIS, STABLEDRAG_WORKER_PORT: port }))).toThrow(/STABLEDRAG_WORKER_PORT/);
    for (const drain of ['-1', '1e9', 'soon', '3601']) expect(() => readWorkerConfig(env({ ...REDIS, STABLEDRAG_WORKER_DRAIN_SECONDS: drain }))).toThrow(/STABLEDRAG_WORKER_DRAIN_SECONDS/);
  });
});
