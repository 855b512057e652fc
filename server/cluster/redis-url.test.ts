import { describe, expect, it } from 'vitest';
import { describeRedisUrl, parseRedisUrl } from './redis-url.js';

describe('parseRedisUrl', () => {
  it('keeps one process when unset or blank', () => {
    expect(parseRedisUrl(undefined)).toBeUndefined();
    expect(parseRedisUrl('  ')).toBeUndefined();
  });
  it('accepts redis:// and rediss:// with a host and an optional database number', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(parseRedisUrl(' rediss://:secret@cache.internal:6380/2 ')).toBe('rediss://:secret@cache.internal:6380/2');
  });
  it('refuses other schemes, missing hosts and non-numeric databases, saying what it expects', () => {
    expect(() => parseRedisUrl('http://x')).toThrow(/unsupported scheme 'http'.*redis:\/\//);
    expect(() => parseRedisUrl('localhost:6379')).toThrow(/REDIS_URL/);
    expect(() => parseRedisUrl('redis://')).toThrow(/no host/);
    expect(() => parseRedisUrl('redis://h/cache')).toThrow(/not a database number/);
  });
  it('hides the password in log lines', () => {
    expect(describeRedisUrl('redis://:hunter2@h:1/0')).not.toContain('hunter2');
  });
});
