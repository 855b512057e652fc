import { describe, expect, it, vi } from 'vitest';
import { Debouncer } from './debounce.js';

describe('Debouncer when its run fails', () => {
  it('keeps the changes unsaved and runs again after the retry wait until a run succeeds', async () => {
    vi.useFakeTimers();
    try {
      let failures = 2;
      const fn = vi.fn(async () => {
        if (failures-- > 0) throw new Error('disk full');
      });
      const errors: number[] = [];
      const d = new Debouncer(fn, 50, 200, { retryDelayMs: (n) => 100 * n, onError: (_err, n) => errors.push(n) });
      d.trigger();
      await vi.advanceTimersByTimeAsync(50);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(d.unsaved).toBe(true);
      await vi.advanceTimersByTimeAsync(99);
      expect(fn).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(fn).toHaveBeenCalledTimes(2);
      await vi.advanceTimersByTimeAsync(200);
      expect(fn).toHaveBeenCalledTimes(3);
      expect(errors).toEqual([1, 2]);
      expect(d.unsaved).toBe(false);
      await vi.advanceTimersByTimeAsync(1000);
      expect(fn).toHaveBeenCalledTimes(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs an exclusive task between runs, never during one', async () => {
    const log: string[] = [];
    let release!: () => void;
    const d = new Debouncer(
      async () => {
        log.push('store start');
        await new Promise<void>((r) => (release = r));
        log.push('store end');
      },
      0,
      0,
    );
    d.trigger();
    const storing = d.flush();
    const task = d.exclusive(async () => void log.push('exclusive'));
    d.trigger();
    const next = d.flush();
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(['store start']);
    release();
    await storing;
    await task;
    await new Promise((r) => setTimeout(r, 10));
    release();
    await next;
    expect(log).toEqual(['store start', 'store end', 'exclusive', 'store start', 'store end']);
  });
});
