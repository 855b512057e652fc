// Shading helpers: every rounded part (head, ears, nose, hair, eyeballs) is lit as if it
// were an ellipsoid with the silhouette of its ellipse. That gives smooth gradients
// and a consistent light direction across the face from one cheap formula.
import type { Layout } from './layout.js';
import type { RGB } from './raster.js';

/** Lambert term in [0, 1] for the ellipsoid (cx, cy, rx, ry) at (x, y). */
export function ellipsoidLight(L: Layout, x: number, y: number, cx: number, cy: number, rx: number, ry: number): number {
  let nx = (x - cx) / rx;
  let ny = (y - cy) / ry;
  const r2 = nx * nx + ny * ny;
  if (r2 > 1) {
    const k = 1 / Math.sqrt(r2);
    nx *= k;
    ny *= k;
  }
  const nz = Math.sqrt(Math.max(0, 1 - nx * nx - ny * ny));
  const ndl = nx * L.light.x + ny * L.light.y + nz * L.light.z;
  return ndl > 0 ? ndl : 0;
}

/** Colour of a lit surface: warm shadows (subsurface-ish) blending into the lit colour. */
export function litColor(L: Layout, base: RGB, diffuse: number, out: Float32Array, warm = 1): void {
  const s = L.light.amb + L.light.key * diffuse;
  // Shadows of skin lean red: the blue/green channels fall off faster.
  const w = (1 - Math.min(1, s)) * 0.25 * warm;
  out[0] = base[0] * s;
  out[1] = base[1] * s * (1 - w);
  out[2] = base[2] * s * (1 - 1.6 * w);
}

/** Blinn specular highlight (exponent 12) for the same ellipsoid normal. */
export function ellipsoidSpec(L: Layout, x: number, y: number, cx: number, cy: number, rx: number, ry: number): number {
  const nx = Math.max(-1, Math.min(1, (x - cx) / rx));
  const ny = Math.max(-1, Math.min(1, (y - cy) / ry));
  const nz = Math.sqrt(Math.max(0, 1 - nx * nx - ny * ny));
  // Half vector between light and the viewer (0, 0, 1).
  let hx = L.light.x, hy = L.light.y, hz = L.light.z + 1;
  const hn = Math.sqrt(hx * hx + hy * hy + hz * hz);
  hx /= hn; hy /= hn; hz /= hn;
  const ndh = nx * hx + ny * hy + nz * hz;
  if (ndh <= 0) return 0;
  // Fixed exponent 12 by squaring (Math.pow was a hot spot).
  const p2 = ndh * ndh, p4 = p2 * p2;
  return p4 * p4 * p4;
}
