// Colour palettes. Parameters pick a continuous position on a hand-tuned palette, so
// neighbouring parameter values give neighbouring colours (good for a GAN latent).
import type { RGB } from './raster.js';

export function paletteAt(pal: ReadonlyArray<RGB>, t: number): [number, number, number] {
  const f = Math.min(0.999999, Math.max(0, t)) * (pal.length - 1);
  const i = Math.floor(f);
  const u = f - i;
  const a = pal[i];
  const b = pal[i + 1];
  return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
}

export const SKIN: RGB[] = [
  [0.99, 0.87, 0.78], [0.96, 0.79, 0.66], [0.9, 0.69, 0.53], [0.76, 0.54, 0.38],
  [0.6, 0.41, 0.28], [0.44, 0.29, 0.2], [0.33, 0.22, 0.16],
];

// Natural colours take most of the range (black and browns twice as wide); grey and
// a dyed pink only the last stretch.
export const HAIR: RGB[] = [
  [0.06, 0.05, 0.05], [0.1, 0.07, 0.06], [0.2, 0.13, 0.09], [0.3, 0.19, 0.12],
  [0.42, 0.27, 0.15], [0.5, 0.3, 0.16], [0.6, 0.28, 0.13], [0.74, 0.45, 0.22],
  [0.85, 0.68, 0.4], [0.9, 0.82, 0.6], [0.78, 0.75, 0.7], [0.6, 0.58, 0.57],
  [0.8, 0.42, 0.6],
];

export const IRIS: RGB[] = [
  [0.26, 0.15, 0.08], [0.45, 0.28, 0.12], [0.5, 0.45, 0.2], [0.3, 0.52, 0.3],
  [0.3, 0.5, 0.75], [0.5, 0.58, 0.66],
];

/** HSL -> RGB, all in [0, 1]. */
export function hsl(h: number, s: number, l: number): [number, number, number] {
  const k = (n: number) => (n + h * 12) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
  return [f(0), f(8), f(4)];
}

export function mix(a: RGB, b: RGB, t: number): [number, number, number] {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function scale(a: RGB, k: number): [number, number, number] {
  return [a[0] * k, a[1] * k, a[2] * k];
}
