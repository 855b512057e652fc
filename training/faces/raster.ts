// A tiny float RGB canvas: shapes are (bounding box, SDF, paint) triples composited
// with "over" blending. Coverage comes from the signed distance, so edges are
// anti-aliased analytically; the whole canvas is additionally rendered at a multiple
// of the output size and box-filtered down (downsample) for smooth shading detail.
import { Box } from './sdf.js';

export type Sdf = (x: number, y: number) => number;
/** Writes the colour at local point (x, y) into out[0..2]; d is the signed distance there. */
export type Paint = (x: number, y: number, d: number, out: Float32Array) => void;
export type RGB = readonly [number, number, number];

export class Raster {
  /** Side length in (supersampled) pixels. */
  readonly n: number;
  /** One pixel in normalised units: the anti-aliasing ramp width. */
  readonly px: number;
  readonly rgb: Float32Array;
  private readonly col = new Float32Array(3);
  // Local -> world is a rotation by angle and a zoom by k about (ox, oy); shapes are
  // authored in local coords. c, s are cos/sin; SDF values scale by k into world units.
  private c = 1;
  private s = 0;
  private k = 1;
  private ox = 0.5;
  private oy = 0.5;

  constructor(n: number) {
    this.n = n;
    this.px = 1 / n;
    this.rgb = new Float32Array(n * n * 3);
  }

  setTransform(angle: number, scale: number, ox: number, oy: number): void {
    this.c = Math.cos(angle);
    this.s = Math.sin(angle);
    this.k = scale;
    this.ox = ox;
    this.oy = oy;
  }

  resetTransform(): void {
    this.setTransform(0, 1, 0.5, 0.5);
  }

  /** Map a local point to world (image) coordinates with the current transform. */
  toWorld(x: number, y: number): [number, number] {
    const dx = (x - this.ox) * this.k;
    const dy = (y - this.oy) * this.k;
    return [this.ox + this.c * dx - this.s * dy, this.oy + this.s * dx + this.c * dy];
  }

  /** Fill every pixel with paint (no coverage), e.g. the background. */
  paintAll(paint: Paint): void {
    const { n, rgb, col } = this;
    for (let j = 0; j < n; j++) {
      const y = (j + 0.5) / n;
      for (let i = 0; i < n; i++) {
        paint((i + 0.5) / n, y, -1, col);
        const o = (j * n + i) * 3;
        rgb[o] = col[0];
        rgb[o + 1] = col[1];
        rgb[o + 2] = col[2];
      }
    }
  }

  /**
   * Composite a shape. box: local-space bounds of the shape (must contain every point
   * with sdf < soft). soft (local units) wider than a pixel blurs the edge over that
   * distance (soft shadows).
   */
  fill(box: Box, sdf: Sdf, paint: Paint | RGB, alpha = 1, soft = 0): void {
    const { n, rgb, col, k } = this;
    const ik = 1 / k;
    // Inverse transform folded into the loop: local = o + R^T (world - o) / k.
    const c = this.c * ik, s = this.s * ik, ox = this.ox, oy = this.oy;
    const edge = Math.max(this.px * ik, soft); // local units
    const smooth = soft > this.px * ik;
    const m = edge;
    // World-space bounds of the rotated local box.
    let wx0 = Infinity, wy0 = Infinity, wx1 = -Infinity, wy1 = -Infinity;
    for (const [bx, by] of [[box.x0 - m, box.y0 - m], [box.x1 + m, box.y0 - m], [box.x0 - m, box.y1 + m], [box.x1 + m, box.y1 + m]]) {
      const [wx, wy] = this.toWorld(bx, by);
      wx0 = Math.min(wx0, wx); wx1 = Math.max(wx1, wx);
      wy0 = Math.min(wy0, wy); wy1 = Math.max(wy1, wy);
    }
    const i0 = Math.max(0, Math.floor(wx0 * n));
    const i1 = Math.min(n - 1, Math.ceil(wx1 * n));
    const j0 = Math.max(0, Math.floor(wy0 * n));
    const j1 = Math.min(n - 1, Math.ceil(wy1 * n));
    const flat = typeof paint !== 'function';
    if (flat) { col[0] = paint[0]; col[1] = paint[1]; col[2] = paint[2]; }
    const inv = 1 / edge;
    for (let j = j0; j <= j1; j++) {
      const wy = (j + 0.5) / n - oy;
      for (let i = i0; i <= i1; i++) {
        const wx = (i + 0.5) / n - ox;
        // world -> local: inverse rotation.
        const x = ox + c * wx + s * wy;
        const y = oy - s * wx + c * wy;
        const d = sdf(x, y);
        let a = 0.5 - d * inv;
        if (a <= 0) continue;
        if (a > 1) a = 1;
        else if (smooth) a = a * a * (3 - 2 * a);
        a *= alpha;
        if (!flat) (paint as Paint)(x, y, d, col);
        const o = (j * n + i) * 3;
        rgb[o] += (col[0] - rgb[o]) * a;
        rgb[o + 1] += (col[1] - rgb[o + 1]) * a;
        rgb[o + 2] += (col[2] - rgb[o + 2]) * a;
      }
    }
  }

  /** Box-filter down by an integer factor into 8-bit RGB. */
  downsample(factor: number): Uint8Array {
    const n = this.n;
    const m = Math.floor(n / factor);
    const out = new Uint8Array(m * m * 3);
    const norm = 255 / (factor * factor);
    const rgb = this.rgb;
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < m; i++) {
        let r = 0, g = 0, b = 0;
        for (let dy = 0; dy < factor; dy++) {
          let o = ((j * factor + dy) * n + i * factor) * 3;
          for (let dx = 0; dx < factor; dx++, o += 3) {
            r += rgb[o]; g += rgb[o + 1]; b += rgb[o + 2];
          }
        }
        const q = (j * m + i) * 3;
        out[q] = clampByte(r * norm);
        out[q + 1] = clampByte(g * norm);
        out[q + 2] = clampByte(b * norm);
      }
    }
    return out;
  }
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
