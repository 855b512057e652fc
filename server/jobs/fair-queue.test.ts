import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.js';

describe('FairQueue', () => {
  it('serves callers in turn, oldest item first within a caller', () => {
    const q = new FairQueue<string>({ max: 100, maxPerCaller: 100 });
    for (const x of ['a1', 'a2', 'a3', 'a4']) q.push('a', x);
    q.push('b', 'b1');
    q.push('c', 'c1');
    q.push('b', 'b2');
    const order: string[] = [];
    for (let x = q.shift(); x; x = q.shift()) order.push(x);
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
    expect(q.size).toBe(0);
  });

  it('refuses past the caller share and the total, others still get in', () => {
    const q = new FairQueue<number>({ max: 5, maxPerCaller: 2 });
    expect([1, 2, 3].map((i) => q.push('a', i))).toEqual([true, true, false]);
    expect([1, 2, 3].map((i) => q.push('b', i))).toEqual([true, true, false]);
    expect(q.push('c', 1)).toBe(true);
    expect(q.push('d', 1)).toBe(false);
    expect(q.size).toBe(5);
    expect(q.drain()).toHaveLength(5);
    expect(q.push('d', 1)).toBe(true);
  });
});
