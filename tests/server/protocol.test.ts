/** The shared-document helpers, the mask rasteriser and the store debounce, without a server. */
import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { rasterizeMask } from '../../contract/mask.js';
import { addPoint, completePairs, moveHandles, readPoints, readSettings, undoLastPoint, updateSettings } from '../../contract/room-doc.js';
import { DEFAULT_RUN_SETTINGS } from '../../contract/run-settings.js';
import { Debouncer } from '../../server/yjs/debounce.js';

const ann = { id: 'a', name: 'Ann', color: '#ff0000' };
const bob = { id: 'b', name: 'Bob', color: '#0000ff' };

describe('room document', () => {
  it('alternates handle and target per user, so concurrent clickers never steal each other’s handle', () => {
    const doc = new Y.Doc();
    expect(addPoint(doc, [1, 1], ann).which).toBe('handle');
    expect(addPoint(doc, [2, 2], bob).which).toBe('handle');
    expect(addPoint(doc, [3, 3], ann).which).toBe('target');
    expect(readPoints(doc).map((p) => [p.by?.name, p.handle, p.target])).toEqual([
      ['Ann', [1, 1], [3, 3]],
      ['Bob', [2, 2], null],
    ]);
    // A trailing handle without target is not dragged.
    expect(completePairs(doc)).toHaveLength(1);
    undoLastPoint(doc);
    expect(readPoints(doc)).toHaveLength(1);
    undoLastPoint(doc);
    expect(readPoints(doc)[0].target).toBeNull();
  });

  it('moves handles to tracked positions after a run and sanitises settings', () => {
    const doc = new Y.Doc();
    addPoint(doc, [1, 1], ann);
    addPoint(doc, [9, 9], ann);
    const [pair] = completePairs(doc);
    moveHandles(doc, [{ id: pair.id, handle: [4, 5] }]);
    expect(readPoints(doc)[0]).toMatchObject({ handle: [4, 5], target: [9, 9] });
    expect(readSettings(doc)).toEqual(DEFAULT_RUN_SETTINGS);
    updateSettings(doc, { maxSteps: 1e9, lr: Number.NaN as number, method: 'draggan' });
    expect(readSettings(doc)).toMatchObject({ maxSteps: 1000, lr: DEFAULT_RUN_SETTINGS.lr, method: 'draggan' });
  });
});

describe('mask rasteriser', () => {
  it('is undefined without strokes; flexible strokes open a region, fixed strokes close it again', () => {
    expect(rasterizeMask([], 16)).toBeUndefined();
    const m = rasterizeMask([{ id: '1', mode: 'flexible', radius: 2, points: [4, 4, 11, 4] }], 16)!;
    expect(m[4 * 16 + 4]).toBe(1);
    expect(m[4 * 16 + 8]).toBe(1); // joined between dabs
    expect(m[12 * 16 + 12]).toBe(0);
    const erased = rasterizeMask(
      [
        { id: '1', mode: 'flexible', radius: 2, points: [4, 4, 11, 4] },
        { id: '2', mode: 'fixed', radius: 1, points: [8, 4] },
      ],
      16,
    )!;
    expect(erased[4 * 16 + 8]).toBe(0);
    expect(erased[4 * 16 + 4]).toBe(1);
    const fixedOnly = rasterizeMask([{ id: '3', mode: 'fixed', radius: 1, points: [0, 0] }], 16)!;
    expect(fixedOnly[0]).toBe(0);
    expect(fixedOnly[15 * 16 + 15]).toBe(1);
  });
});

describe('Debouncer', () => {
  it('waits for quiet, but never longer than the ceiling', async () => {
    vi.useFakeTimers();
    try {
      const fn = vi.fn(async () => {});
      const d = new Debouncer(fn, 100, 250);
      for (let t = 0; t < 240; t += 60) {
        d.trigger();
        await vi.advanceTimersByTimeAsync(60);
      }
      expect(fn).toHaveBeenCalledTimes(0);
      await vi.advanceTimersByTimeAsync(20);
      expect(fn).toHaveBeenCalledTimes(1);
      d.trigger();
      await d.flush();
      expect(fn).toHaveBeenCalledTimes(2);
      await d.flush();
      expect(fn).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
