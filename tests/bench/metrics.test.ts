// Benchmark metrics on synthetic inputs with known answers: PSNR, SSIM (closed form on constant images and
// a brute-force definition on random ones), mean distance, fidelity regions, the detector feature
// distance, the sign test and sweep parsing.
import { beforeAll, describe, expect, it } from 'vitest';
import type { DragCase } from '../../bench/cases.js';
import { fidelityRegion, meanDistance, pick, psnr, PSNR_CAP_DB, ssim, ssimMap, type Image } from '../../bench/metrics.js';
import { sweepSpecs, withOption } from '../../bench/methods.js';
import { paired, signTestP } from '../../bench/summary.js';
import type { CaseResult } from '../../bench/run-case.js';

const W = 24;
function image(fn: (x: number, y: number, c: number) => number, w = W): Image {
  const data = new Uint8ClampedArray(w * w * 4);
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) {
    for (let c = 0; c < 3; c++) data[(y * w + x) * 4 + c] = fn(x, y, c);
    data[(y * w + x) * 4 + 3] = 255;
  }
  return { width: w, height: w, data };
}
function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe('PSNR', () => {
  it('is 20 log10(255 / d) for a constant difference d', () => {
    const a = image(() => 100);
    for (const d of [1, 5, 40]) expect(psnr(a, image(() => 100 + d))).toBeCloseTo(20 * Math.log10(255 / d), 10);
  });
  it('is capped for identical images and only looks at the region', () => {
    const a = image((x) => x * 5);
    expect(psnr(a, a)).toBe(PSNR_CAP_DB);
    const b = image((x) => (x < 12 ? x * 5 : 0)); // differs only where x >= 12
    const left = new Uint8Array(W * W).map((_, i) => (i % W < 12 ? 1 : 0));
    expect(psnr(a, b, left)).toBe(PSNR_CAP_DB);
    expect(psnr(a, b)).toBeLessThan(30);
  });
});

describe('SSIM', () => {
  const C1 = (0.01 * 255) ** 2;
  it('is 1 for identical images', () => {
    const r = rng(1);
    const a = image(() => Math.floor(r() * 256));
    expect(ssim(a, a)).toBeCloseTo(1, 12);
  });
  it('is (2ab + C1) / (a^2 + b^2 + C1) for constant images a and b', () => {
    for (const [a, b] of [[100, 120], [10, 200], [128, 128]]) {
      expect(ssim(image(() => a), image(() => b))).toBeCloseTo((2 * a * b + C1) / (a * a + b * b + C1), 12);
    }
  });
  it('matches a brute-force evaluation of the definition (Gaussian 11x11 window, sigma 1.5)', () => {
    const r = rng(7);
    const n = 16;
    const a = Float64Array.from({ length: n * n }, () => Math.floor(r() * 256));
    const b = Float64Array.from(a, (v) => Math.min(255, Math.max(0, v + Math.floor(r() * 60) - 30)));
    const fast = ssimMap(a, b, n, n);
    for (const [px, py] of [[0, 0], [7, 9], [15, 3], [5, 15]]) {
      let ws = 0, mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
      for (let y = py - 5; y <= py + 5; y++) for (let x = px - 5; x <= px + 5; x++) {
        if (x < 0 || y < 0 || x >= n || y >= n) continue;
        const w = Math.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * 1.5 * 1.5));
        const u = a[y * n + x], v = b[y * n + x];
        ws += w; mx += w * u; my += w * v; xx += w * u * u; yy += w * v * v; xy += w * u * v;
      }
      mx /= ws; my /= ws;
      const vx = xx / ws - mx * mx, vy = yy / ws - my * my, cxy = xy / ws - mx * my;
      const C2 = (0.03 * 255) ** 2;
      const ref = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      expect(fast[py * n + px]).toBeCloseTo(ref, 10);
    }
  });
  it('decreases as noise grows', () => {
    const r = rng(3);
    const a = image(() => 60 + Math.floor(r() * 120));
    const noisy = (amp: number) => { const q = rng(9); return image((x, y, c) => a.data[(y * W + x) * 4 + c] + Math.round((q() - 0.5) * amp)); };
    expect(ssim(a, noisy(10))).toBeGreaterThan(ssim(a, noisy(60)));
  });
});

describe('distances and regions', () => {
  it('mean distance of a known displacement, and its 512 px normalisation', () => {
    const targets: Array<[number, number]> = [[10, 10], [50, 60]];
    const moved = targets.map(([x, y]) => [x + 3, y + 4] as [number, number]);
    expect(meanDistance(moved, targets)).toBeCloseTo(5, 12);
    expect((meanDistance(moved, targets) * 512) / 128).toBeCloseTo(20, 12);
    expect(meanDistance([[0, 0], [6, 8]], [[0, 0], [0, 0]])).toBeCloseTo(5, 12);
  });
  it('picks named landmarks out of a flat detector output', () => {
    const out = Float32Array.of(9, 9, 1, 2, 3, 4, 5, 6);
    expect(pick(out, 2, ['a', 'b', 'c'], ['c', 'a'])).toEqual([[5, 6], [1, 2]]);
  });
  const c: DragCase = {
    id: 't', seed: 0, length: 'short', count: 'single', masked: false, motion: 'x',
    points: [{ landmark: 'nose_tip', handle: [40, 64], target: [50, 64] }],
  };
  it('without a mask, measures only pixels farther than 24 px from the handle-target path', () => {
    const region = fidelityRegion(c, 128, undefined);
    expect(region[64 * 128 + 40]).toBe(0);
    expect(region[64 * 128 + 45]).toBe(0);
    expect(region[64 * 128 + 74]).toBe(0); // 24 px from the target
    expect(region[64 * 128 + 75]).toBe(1);
    expect(region[(64 + 25) * 128 + 45]).toBe(1);
    expect(region[0]).toBe(1);
  });
  it('with a mask, measures exactly the fixed region', () => {
    const mask = new Uint8Array(128 * 128).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const region = fidelityRegion(c, 128, mask);
    expect(region.every((v, i) => v === 1 - mask[i])).toBe(true);
  });
});

describe('detector feature distance', () => {
  let dfd: import('../../bench/perceptual.js').DetectorFeatureDistance;
  beforeAll(async () => {
    const { initBackend } = await import('../../engine/src/index.js');
    await initBackend({ backend: 'wasm', log: () => {} });
    dfd = new (await import('../../bench/perceptual.js')).DetectorFeatureDistance();
  });
  it('is 0 for identical images, grows with change, and ignores changes outside the region', () => {
    const r = rng(5);
    const a = image(() => Math.floor(r() * 256), 128);
    expect(dfd.distance(a, a)).toBeCloseTo(0, 6);
    const b = image((x, y, ch) => (x >= 64 ? 255 - a.data[(y * 128 + x) * 4 + ch] : a.data[(y * 128 + x) * 4 + ch]), 128);
    expect(dfd.distance(a, b)).toBeGreaterThan(0.05);
    const left = new Uint8Array(128 * 128).map((_, i) => (i % 128 < 32 ? 1 : 0));
    // enc1..enc4 receptive fields reach < 32 px to the left of the change at x = 64.
    expect(dfd.distance(a, b, left)).toBeCloseTo(0, 6);
  });
});

describe('summaries and sweeps', () => {
  it('sign test p-values', () => {
    expect(signTestP(5, 0)).toBeCloseTo(2 / 32, 12);
    expect(signTestP(3, 3)).toBe(1);
    expect(signTestP(10, 2)).toBeCloseTo(2 * (1 + 12 + 66) / 4096, 12);
  });
  it('pairs results by case and counts wins beyond the tie margin', () => {
    const r = (caseId: string, method: string, md: number, length: 'short' | 'long') => ({ caseId, method, md, length }) as CaseResult;
    const rows = paired([r('a', 'draggan', 10, 'long'), r('a', 'stabledrag', 4, 'long'), r('b', 'draggan', 3, 'long'), r('b', 'stabledrag', 3.2, 'long')], 'draggan', 'stabledrag', (x) => x.length);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ group: 'long', pairs: 2, wins: 1, losses: 0 });
    expect(rows[0].gain).toBeCloseTo(2.9, 12);
  });
  it('expands sweeps one at a time or as a grid over StableDrag', () => {
    const oat = sweepSpecs('tracker.alpha=0,2;enhancement.threshold=0.4');
    expect(oat.map((m) => m.name)).toEqual(['stabledrag', 'stabledrag[tracker.alpha=0]', 'stabledrag[tracker.alpha=2]', 'stabledrag[enhancement.threshold=0.4]']);
    expect(oat[1].options).toEqual({ method: 'stabledrag', tracker: { alpha: 0 } });
    expect(sweepSpecs('tracker.alpha=0,2;tracker.ridge=1,10', 'grid')).toHaveLength(5);
    expect(withOption({ method: 'draggan', enhancement: { enabled: true } }, 'enhancement.threshold', 0.3)).toEqual({ method: 'draggan', enhancement: { enabled: true, threshold: 0.3 } });
  });
});
