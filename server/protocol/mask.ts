/**
 * The mask of the flexible region as a list of brush strokes, rasterised the same way on every peer and
 * on the server. Strokes (not pixels) live in the shared document so concurrent painting merges: each
 * stroke is appended, and the order Yjs converges on is the order strokes are applied in.
 *
 * Semantics (shown in the UI): with no strokes there is no mask and the whole image may change. As soon as
 * a flexible stroke exists, only painted flexible areas may change; fixed strokes erase from them. With
 * fixed strokes only, everything may change except the fixed areas.
 */

export type MaskMode = 'flexible' | 'fixed';

export interface MaskStroke {
  id: string;
  mode: MaskMode;
  /** Brush radius in image pixels. */
  radius: number;
  /** Dab centres in image pixels, flattened x0, y0, x1, y1, ... (consecutive dabs are joined). */
  points: number[];
  by?: string;
}

export function isMaskStroke(v: unknown): v is MaskStroke {
  const s = v as MaskStroke;
  return !!s && typeof s === 'object' && (s.mode === 'flexible' || s.mode === 'fixed') && typeof s.radius === 'number'
    && Number.isFinite(s.radius) && Array.isArray(s.points) && s.points.length % 2 === 0 && s.points.every(Number.isFinite);
}

function paintDisc(out: Uint8Array, size: number, cx: number, cy: number, r: number, value: number): void {
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(size - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(size - 1, Math.ceil(cy + r));
  const r2 = r * r;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r2) out[y * size + x] = value;
    }
  }
}

function paintStroke(out: Uint8Array, size: number, s: MaskStroke, value: number): void {
  const r = Math.max(0.5, s.radius);
  const step = Math.max(0.5, r / 2);
  for (let i = 0; i < s.points.length; i += 2) {
    const x = s.points[i];
    const y = s.points[i + 1];
    if (i === 0) {
      paintDisc(out, size, x, y, r, value);
      continue;
    }
    // Join consecutive dabs so a fast pointer still paints a continuous line.
    const px = s.points[i - 2];
    const py = s.points[i - 1];
    const n = Math.max(1, Math.ceil(Math.hypot(x - px, y - py) / step));
    for (let k = 1; k <= n; k++) paintDisc(out, size, px + ((x - px) * k) / n, py + ((y - py) * k) / n, r, value);
  }
}

/** Row-major size x size bytes, 1 = may change; undefined when there is no mask at all. */
export function rasterizeMask(strokes: readonly MaskStroke[], size: number): Uint8Array | undefined {
  const valid = strokes.filter(isMaskStroke);
  if (valid.length === 0) return undefined;
  const anyFlexible = valid.some((s) => s.mode === 'flexible');
  const out = new Uint8Array(size * size).fill(anyFlexible ? 0 : 1);
  for (const s of valid) paintStroke(out, size, s, s.mode === 'flexible' ? 1 : 0);
  return out;
}
