import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('writes a lone item at once and batches items queued behind a write in flight', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number, number>(
      async (items) => {
        batches.push(items);
        await new Promise((r) => setTimeout(r, 5));
        return items.map((n) => n * 10);
      },
      async (n) => n * 10,
    );
    expect(await gc.write(1)).toBe(10);
    expect(await Promise.all([2, 3, 4, 5].map((n) => gc.write(n)))).toEqual([20, 30, 40, 50]);
    expect(batches).toEqual([[1], [2], [3, 4, 5]]);
  });

  it('when a batch fails, each item settles with its own outcome', async () => {
    const written: number[] = [];
    const gc = new GroupCommit<number>(
      async (items) => {
        if (items.includes(13)) throw new Error('batch failed');
        written.push(...items);
        return items.map(() => undefined);
      },
      async (n) => {
        if (n === 13) throw new Error('unlucky');
        written.push(n);
      },
    );
    const first = gc.write(1);
    const results = await Promise.allSettled([12, 13, 14].map((n) => gc.write(n)));
    await first;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(written.sort((a, b) => a - b)).toEqual([1, 12, 14]);
  });
});
