/**
 * Metrics of one drag: accuracy (detector-measured distance to target), tracking error, and fidelity of
 * the region that should not change (PSNR, SSIM). Images are RGBA bytes; regions are per-pixel 0/1 masks
 * (1 = measured). Pure functions, tested on synthetic inputs in tests/bench/metrics.test.ts.
 */
import type { DragCase, Point } from './cases.js';

export interface Image {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** PSNR values are capped here so identical regions do not make averages infinite. */
export const PSNR_CAP_DB = 100;

/** PSNR (dB, peak 255) of the RGB channels over the region's pixels. */
export function psnr(a: Image, b: Image, region?: Uint8Array): number {
  const n = a.width * a.height;
  let se = 0;
  let count = 0;
  for (let p = 0; p < n; p++) {
    if (region && !region[p]) continue;
    for (let c = 0; c < 3; c++) {
      const d = a.data[4 * p + c] - b.data[4 * p + c];
      se += d * d;
    }
    count += 3;
  }
  if (count === 0) return NaN;
  const mse = se / count;
  return mse === 0 ? PSNR_CAP_DB : Math.min(PSNR_CAP_DB, 10 * Math.log10((255 * 255) / mse));
}

const SSIM_SIGMA = 1.5;
const SSIM_RADIUS = 5; // 11x11 window, as in Wang et al. 2004
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

function gaussianTaps(): Float64Array {
  const t = new Float64Array(2 * SSIM_RADIUS + 1);
  for (let i = -SSIM_RADIUS; i <= SSIM_RADIUS; i++) t[i + SSIM_RADIUS] = Math.exp(-(i * i) / (2 * SSIM_SIGMA * SSIM_SIGMA));
  return t;
}

/**
 * Gaussian-weighted local mean of `src` (w x h), separable. At the borders the window is cut to the image
 * and its weights renormalised, so every pixel has a proper local mean (no padding artefacts).
 */
export function gaussianBlur(src: Float64Array, w: number, h: number): Float64Array {
  const taps = gaussianTaps();
  const tmp = new Float64Array(w * h);
  const out = new Float64Array(w * h);
  const pass = (from: Float64Array, to: Float64Array, horizontal: boolean) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        let ws = 0;
        for (let k = -SSIM_RADIUS; k <= SSIM_RADIUS; k++) {
          const xx = horizontal ? x + k : x;
          const yy = horizontal ? y : y + k;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const t = taps[k + SSIM_RADIUS];
          s += t * from[yy * w + xx];
          ws += t;
        }
        to[y * w + x] = s / ws;
      }
    }
  };
  pass(src, tmp, true);
  pass(tmp, out, false);
  return out;
}

/**
 * Per-pixel SSIM map of one channel (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03, L 255).
 * Windows are Gaussian-weighted over the whole image; the region only selects which pixels are averaged.
 */
export function ssimMap(a: Float64Array, b: Float64Array, w: number, h: number): Float64Array {
  const n = w * h;
  const prod = (x: Float64Array, y: Float64Array) => {
    const o = new Float64Array(n);
    for (let i = 0; i < n; i++) o[i] = x[i] * y[i];
    return o;
  };
  const mx = gaussianBlur(a, w, h);
  const my = gaussianBlur(b, w, h);
  const sxx = gaussianBlur(prod(a, a), w, h);
  const syy = gaussianBlur(prod(b, b), w, h);
  const sxy = gaussianBlur(prod(a, b), w, h);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const vx = sxx[i] - mx[i] * mx[i];
    const vy = syy[i] - my[i] * my[i];
    const cxy = sxy[i] - mx[i] * my[i];
    out[i] = ((2 * mx[i] * my[i] + C1) * (2 * cxy + C2)) / ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
  }
  return out;
}

function channel(img: Image, c: number): Float64Array {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  for (let p = 0; p < n; p++) out[p] = img.data[4 * p + c];
  return out;
}

/** Mean SSIM over the region's pixels, averaged over R, G, B. */
export function ssim(a: Image, b: Image, region?: Uint8Array): number {
  const { width: w, height: h } = a;
  let total = 0;
  let count = 0;
  for (let c = 0; c < 3; c++) {
    const m = ssimMap(channel(a, c), channel(b, c), w, h);
    for (let p = 0; p < w * h; p++) {
      if (region && !region[p]) continue;
      total += m[p];
      count++;
    }
  }
  return count ? total / count : NaN;
}

function segmentDistance(q: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, ((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / len2));
  return Math.hypot(q[0] - a[0] - t * dx, q[1] - a[1] - t * dy);
}

/**
 * The region whose fidelity is measured (1 = measured): with a mask, everything outside it; without one,
 * the pixels farther than `radius` from every handle->target segment (a superset of "far from every
 * handle and target" that also excludes the path the content travels along).
 */
export function fidelityRegion(c: DragCase, res: number, mask: Uint8Array | undefined, radius = (24 * res) / 128): Uint8Array {
  const region = new Uint8Array(res * res);
  for (let y = 0; y < res; y++) {
    for (let x = 0; x < res; x++) {
      const i = y * res + x;
      region[i] = mask ? (mask[i] ? 0 : 1) : c.points.every((q) => segmentDistance([x, y], q.handle, q.target) > radius) ? 1 : 0;
    }
  }
  return region;
}

/** Mean Euclidean distance between detected landmark positions and targets (px). */
export function meanDistance(positions: Point[], targets: Point[]): number {
  if (positions.length !== targets.length || positions.length === 0) throw new Error('meanDistance needs matching, non-empty lists');
  return positions.reduce((s, p, i) => s + Math.hypot(p[0] - targets[i][0], p[1] - targets[i][1]), 0) / positions.length;
}

/** Positions of the named landmarks in a detector output (flat x, y in `names` order). */
export function pick(landmarks: ArrayLike<number>, offset: number, names: readonly string[], wanted: string[]): Point[] {
  return wanted.map((n) => {
    const k = names.indexOf(n);
    if (k < 0) throw new Error(`unknown landmark '${n}'`);
    return [landmarks[offset + 2 * k], landmarks[offset + 2 * k + 1]];
  });
}
