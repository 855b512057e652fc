/**
 * Reconstruction quality on 8-bit images (alpha ignored): PSNR in dB and SSIM (Wang et al. 2004: 11x11
 * Gaussian window, sigma 1.5, K1 0.01, K2 0.03, L 255, per RGB channel then averaged, valid region only).
 */
import type { RGBAImage } from '../drag/types.js';

function sameSize(a: RGBAImage, b: RGBAImage): void {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
}

export function psnr(a: RGBAImage, b: RGBAImage): number {
  sameSize(a, b);
  let se = 0;
  const n = a.width * a.height;
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) se += (a.data[p * 4 + c] - b.data[p * 4 + c]) ** 2;
  const mse = se / (n * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

const WINDOW = (() => {
  const w = new Float64Array(11);
  let s = 0;
  for (let i = 0; i < 11; i++) s += w[i] = Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5));
  return w.map((v) => v / s);
})();

/** Separable 11x11 Gaussian filter, 'valid' output of (w-10) x (h-10). */
function blur(src: Float64Array, w: number, h: number): Float64Array {
  const ow = w - 10;
  const oh = h - 10;
  const rows = new Float64Array(ow * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += WINDOW[k] * src[y * w + x + k];
      rows[y * ow + x] = s;
    }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += WINDOW[k] * rows[(y + k) * ow + x];
      out[y * ow + x] = s;
    }
  return out;
}

export function ssim(a: RGBAImage, b: RGBAImage): number {
  sameSize(a, b);
  const { width: w, height: h } = a;
  if (w < 11 || h < 11) throw new Error(`SSIM needs at least 11x11 pixels, got ${w}x${h}`);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const n = w * h;
  let total = 0;
  for (let c = 0; c < 3; c++) {
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let p = 0; p < n; p++) {
      x[p] = a.data[p * 4 + c];
      y[p] = b.data[p * 4 + c];
    }
    const mx = blur(x, w, h);
    const my = blur(y, w, h);
    const xx = blur(x.map((v) => v * v), w, h);
    const yy = blur(y.map((v) => v * v), w, h);
    const xy = blur(x.map((v, i) => v * y[i]), w, h);
    let s = 0;
    for (let i = 0; i < mx.length; i++) {
      const vx = xx[i] - mx[i] * mx[i];
      const vy = yy[i] - my[i] * my[i];
      const cov = xy[i] - mx[i] * my[i];
      s += ((2 * mx[i] * my[i] + c1) * (2 * cov + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
    }
    total += s / mx.length;
  }
  return total / 3;
}
