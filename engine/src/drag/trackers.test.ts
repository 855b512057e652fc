// Trackers on synthetic feature maps (feature grid = image grid, so every point is one cell).
import { describe, expect, it } from 'vitest';
import type { FeatureMap } from './features.js';
import { DiscriminativeTracker, NearestNeighbourTracker, solveSpd } from './trackers.js';
import { sampleAt } from './features.js';
import type { Point, TrackerOptions } from './types.js';

const SIZE = 16;
const C = 6;
const options: TrackerOptions = { alpha: 1, ridge: 1, labelSigma: 1, fitRadius: 4 };

/** A map with a weak random background and given vectors at given cells. */
function makeMap(cells: Array<[Point, number[]]>, seed = 1): FeatureMap {
  let s = seed;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
  const rows = new Float32Array(SIZE * SIZE * C).map(() => rand());
  // Each object is a small blob (centre plus its 4-neighbours at 70%), as content looks on real feature maps.
  for (const [[x, y], v] of cells) {
    for (const [dx, dy, k] of [[0, 0, 1], [1, 0, 0.7], [-1, 0, 0.7], [0, 1, 0.7], [0, -1, 0.7]]) {
      rows.set(v.map((e) => e * k), ((y + dy) * SIZE + x + dx) * C);
    }
  }
  return { rows, height: SIZE, width: SIZE, channels: C, imageWidth: SIZE, imageHeight: SIZE };
}

// The handle's content (e0 + e1) and a look-alike nearby that shares e0 and part of e1.
const handle = [1, 1, 0, 0, 0, 0];
const distractor = [1, 0.4, 0.4, 0, 0, 0];
// The handle's content after some steps: moved one cell right and degraded (e0 faded, e3 appeared).
const degraded = [0.3, 1, 0, 0.5, 0, 0];

describe('nearest-neighbour vs discriminative tracking', () => {
  const map0 = makeMap([
    [[6, 8], handle],
    [[9, 8], distractor],
  ]);
  const mapK = makeMap(
    [
      [[7, 8], degraded],
      [[9, 8], distractor],
    ],
    2,
  );

  it('nearest neighbour jumps to the distractor, the discriminative tracker does not', () => {
    const nn = new NearestNeighbourTracker(sampleAt(map0, [[6, 8]]));
    expect(nn.track(mapK, [6, 8], 3).position).toEqual([9, 8]);
    const disc = new DiscriminativeTracker(map0, [6, 8], options);
    expect(disc.track(mapK, [6, 8], 3).position).toEqual([7, 8]);
  });

  it('is fully confident on the initial map and loses confidence when the handle is corrupted', () => {
    const disc = new DiscriminativeTracker(map0, [6, 8], options);
    const first = disc.track(map0, [6, 8], 3);
    expect(first.position).toEqual([6, 8]);
    expect(first.confidence).toBeCloseTo(1, 5);
    const corrupted = makeMap([[[9, 8], distractor]], 3);
    expect(disc.track(corrupted, [6, 8], 3).confidence).toBeLessThan(0.5);
  });
});

describe('solveSpd', () => {
  it('solves a small system', () => {
    const a = Float64Array.of(4, 1, 1, 3);
    const x = solveSpd(a, Float64Array.of(1, 2), 2);
    expect(4 * x[0] + x[1]).toBeCloseTo(1, 10);
    expect(x[0] + 3 * x[1]).toBeCloseTo(2, 10);
  });
});
