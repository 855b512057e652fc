import { describe, expect, it } from 'vitest';
import { TokenBucket, TokenBuckets } from './token-buckets.js';

describe('TokenBuckets', () => {
  it('allows a burst, then the rate, per key, and says when to come back', () => {
    let t = 0;
    const b = new TokenBuckets({ perSecond: 2, burst: 3, now: () => t });
    expect([1, 2, 3].map(() => b.take('a').ok)).toEqual([true, true, true]);
    expect(b.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(b.take('b').ok).toBe(true);
    t = 500; // one token back at 2 per second
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
    t = 60_000; // refilled to the burst, not beyond
    expect([1, 2, 3, 4].map(() => b.take('a').ok)).toEqual([true, true, true, false]);
  });

  it('a slow rate gives a long retry time', () => {
    const b = new TokenBuckets({ perSecond: 1 / 60, burst: 1, now: () => 0 });
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a')).toEqual({ ok: false, retryAfterSeconds: 60 });
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then messages at the refill rate', () => {
    let now = 0;
    const budget = new TokenBucket(10, 5, () => now);
    for (let i = 0; i < 5; i++) expect(budget.take().ok).toBe(true);
    expect(budget.take().ok).toBe(false);
    now += 100; // one token back at 10 per second
    expect(budget.take().ok).toBe(true);
    expect(budget.take().ok).toBe(false);
    now += 10_000; // refills up to the burst, no further
    for (let i = 0; i < 5; i++) expect(budget.take().ok).toBe(true);
    expect(budget.take().ok).toBe(false);
  });

  it('is unlimited without a burst size', () => {
    const budget = new TokenBucket(Infinity, Infinity, () => 0);
    for (let i = 0; i < 10_000; i++) expect(budget.take().ok).toBe(true);
  });
});
