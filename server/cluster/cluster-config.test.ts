import { describe, expect, it } from 'vitest';
import { DEFAULT_REDIS_PREFIX, readClusterConfig } from './cluster-config.js';
import { decodeRelayMessage, encodeRelayMessage, type RelayMessage } from './yjs-relay-messages.js';

const PG = { provider: 'postgresql' as const, url: 'postgres://db/studio' };
const REDIS = 'redis://127.0.0.1:6379';

describe('cluster settings', () => {
  it('refuses SQLite (or no database) in cluster mode, saying why', () => {
    expect(() => readClusterConfig(REDIS, { provider: 'sqlite', file: '/data/studio.db' }, {})).toThrow(/DATABASE_URL.*cannot be shared/);
    expect(() => readClusterConfig(REDIS, undefined, {})).toThrow(/postgres/);
  });

  it('reads the prefix, node id and drain delay, with defaults', () => {
    const c = readClusterConfig(REDIS, PG, {});
    expect(c.prefix).toBe(DEFAULT_REDIS_PREFIX);
    expect(c.nodeId).toMatch(/^[A-Za-z0-9_.-]+-\d+-[0-9a-f]{6}$/);
    expect(c.drainDelayMs).toBe(0);
    expect(readClusterConfig(REDIS, PG, { STABLEDRAG_REDIS_PREFIX: 'staging', STABLEDRAG_NODE_ID: 'web-1', STABLEDRAG_DRAIN_SECONDS: '2.5' })).toEqual({
      redisUrl: REDIS, prefix: 'staging', nodeId: 'web-1', drainDelayMs: 2500,
    });
  });

  it('refuses names that would break keys or log lines, and drain delays out of range', () => {
    expect(() => readClusterConfig(REDIS, PG, { STABLEDRAG_REDIS_PREFIX: 'a b' })).toThrow(/STABLEDRAG_REDIS_PREFIX/);
    expect(() => readClusterConfig(REDIS, PG, { STABLEDRAG_NODE_ID: 'x\n[studio] ready' })).toThrow(/STABLEDRAG_NODE_ID/);
    expect(() => readClusterConfig(REDIS, PG, { STABLEDRAG_DRAIN_SECONDS: '-1' })).toThrow(/STABLEDRAG_DRAIN_SECONDS/);
    expect(() => readClusterConfig(REDIS, PG, { STABLEDRAG_DRAIN_SECONDS: '1e9' })).toThrow(/STABLEDRAG_DRAIN_SECONDS/);
  });
});

describe('relay messages', () => {
  it('round-trip every kind and refuse an unknown one', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const messages: RelayMessage[] = [
      { kind: 'update', from: 'a', update: bytes },
      { kind: 'awareness', from: 'a', update: bytes },
      { kind: 'sync', from: 'b', stateVector: bytes },
      { kind: 'answer', from: 'b', to: 'a', update: bytes },
    ];
    for (const m of messages) expect(decodeRelayMessage(encodeRelayMessage(m))).toEqual(m);
    expect(() => decodeRelayMessage(new Uint8Array([9, 1, 97]))).toThrow(/unknown/);
  });
});
