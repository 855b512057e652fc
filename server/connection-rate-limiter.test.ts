import { describe, expect, it } from 'vitest';
import { ConnectionRateLimiter } from './connection-rate-limiter.js';

describe('ConnectionRateLimiter', () => {
  it('refuses an address over its per-minute budget until the ban ends, others unaffected', () => {
    let t = 0;
    const lim = new ConnectionRateLimiter({ maxPerMinute: 3, banMs: 10_000, now: () => t });
    expect([1, 2, 3].map(() => lim.allow('a'))).toEqual([true, true, true]);
    expect(lim.allow('a')).toBe(false);
    expect(lim.allow('b')).toBe(true);
    t = 9_999;
    expect(lim.allow('a')).toBe(false);
    // Ban over and the old attempts are outside the minute.
    t = 70_000;
    expect(lim.allow('a')).toBe(true);
  });
});
