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

/**
 * The pixels a dab covers are exactly those of the disc test `(x - cx)^2 + (y - cy)^2 <= r^2` over the dab's
 * bounding box, dabs `r / 2` apart along each segment (so a fast pointer still paints a continuous line). The
 * union of those discs is not quite a capsule (its edge is scalloped), and every peer must agree on each
 * pixel, so each dab is still tested exactly; but per row, as one span found from the circle's chord and
 * corrected by that same test, and a stroke's spans on a row are merged before they are written. A dab then
 * costs its height, not its area, and overlapping dabs write each pixel about once.
 */
class StrokeSpans {
  /** Per row, the span being grown (lo > hi: none). */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  private top: number;
  private bottom = -1;
  value = 1;

  constructor(
    readonly out: Uint8Array,
    /** Row length (the image's width). */
    private readonly size: number,
    private readonly rows: number,
  ) {
    this.lo = new Int32Array(rows).fill(1);
    this.hi = new Int32Array(rows);
    this.top = rows;
  }

  add(y: number, a: number, b: number): void {
    const lo = this.lo[y];
    const hi = this.hi[y];
    if (lo > hi) {
      if (y < this.top) this.top = y;
      if (y > this.bottom) this.bottom = y;
    } else if (a <= hi + 1 && b >= lo - 1) {
      if (a < lo) this.lo[y] = a;
      if (b > hi) this.hi[y] = b;
      return;
    } else {
      this.out.fill(this.value, y * this.size + lo, y * this.size + hi + 1);
    }
    this.lo[y] = a;
    this.hi[y] = b;
  }

  /** Writes every pending span (the stroke is done). */
  flush(): void {
    for (let y = this.top; y <= this.bottom; y++) {
      if (this.lo[y] <= this.hi[y]) this.out.fill(this.value, y * this.size + this.lo[y], y * this.size + this.hi[y] + 1);
      this.lo[y] = 1;
      this.hi[y] = 0;
    }
    this.top = this.rows;
    this.bottom = -1;
  }
}

/** Dabs narrower than this many pixels are painted pixel by pixel. */
const SMALL_DAB = 12;

/** Adds one dab's pixels to the stroke's spans; returns the rows it visited (the work done). */
function addDisc(spans: StrokeSpans, size: number, rows: number, cx: number, cy: number, r: number): number {
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(size - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(rows - 1, Math.ceil(cy + r));
  if (x0 > x1 || y0 > y1) return 1;
  const r2 = r * r;
  if (x1 - x0 < SMALL_DAB) {
    // A small dab: testing its few pixels outright costs less than finding its spans.
    const out = spans.out;
    for (let y = y0; y <= y1; y++) {
      const dy2 = (y - cy) * (y - cy);
      for (let x = x0; x <= x1; x++) if ((x - cx) * (x - cx) + dy2 <= r2) out[y * size + x] = spans.value;
    }
    return y1 - y0 + 2;
  }
  // Along a row the test only grows with |x - cx| (rounding is monotonic), so the covered pixels are one
  // span around the column nearest the centre; the chord's ends are a guess that the test then corrects.
  const mid = Math.min(x1, Math.max(x0, Math.round(cx)));
  const dm2 = (mid - cx) * (mid - cx);
  const { lo, hi } = spans;
  for (let y = y0; y <= y1; y++) {
    // Nothing to add where the stroke's pending span already covers the dab's whole box (big brushes).
    if (lo[y] <= x0 && hi[y] >= x1) continue;
    const dy2 = (y - cy) * (y - cy);
    if (dm2 + dy2 > r2) continue;
    const w = Math.sqrt(r2 - dy2);
    let a = Math.min(mid, Math.max(x0, Math.ceil(cx - w)));
    if ((a - cx) * (a - cx) + dy2 <= r2) {
      while (a > x0 && (a - 1 - cx) * (a - 1 - cx) + dy2 <= r2) a--;
    } else {
      do a++;
      while ((a - cx) * (a - cx) + dy2 > r2);
    }
    let b = Math.max(mid, Math.min(x1, Math.floor(cx + w)));
    if ((b - cx) * (b - cx) + dy2 <= r2) {
      while (b < x1 && (b + 1 - cx) * (b + 1 - cx) + dy2 <= r2) b++;
    } else {
      do b--;
      while ((b - cx) * (b - cx) + dy2 > r2);
    }
    spans.add(y, a, b);
  }
  return y1 - y0 + 2;
}

/**
 * The dabs k in [1, n] of the segment from p to q whose centres fall within `reach` of [0, size] on one axis
 * (a pixel to spare, so rounding cannot drop a dab that touches the image).
 */
function dabRange(p: number, q: number, n: number, reach: number, size: number, range: [number, number]): void {
  const lo = -reach - 2;
  const hi = size + reach + 2;
  const d = q - p;
  if (d === 0) {
    if (p < lo || p > hi) range[1] = 0;
    return;
  }
  const ka = ((d > 0 ? lo : hi) - p) / (d / n);
  const kb = ((d > 0 ? hi : lo) - p) / (d / n);
  range[0] = Math.max(range[0], Math.floor(ka));
  range[1] = Math.min(range[1], Math.ceil(kb));
}

/** Rows visited between two yields of rasterizeMaskSteps (a few milliseconds of work). */
const WORK_PER_YIELD = 20_000;

/**
 * rasterizeMask in pieces: yields after about WORK_PER_YIELD rows of dabs, so a caller that must stay
 * responsive (the server's event loop) can pause between pieces; returns the mask.
 */
export function* rasterizeMaskSteps(strokes: readonly MaskStroke[], width: number, height = width): Generator<void, Uint8Array | undefined> {
  const valid = strokes.filter(isMaskStroke);
  if (valid.length === 0) return undefined;
  const anyFlexible = valid.some((s) => s.mode === 'flexible');
  const out = new Uint8Array(width * height).fill(anyFlexible ? 0 : 1);
  const spans = new StrokeSpans(out, width, height);
  const range: [number, number] = [1, 0];
  let work = 0;
  for (const s of valid) {
    spans.value = s.mode === 'flexible' ? 1 : 0;
    const r = Math.max(0.5, s.radius);
    const step = Math.max(0.5, r / 2);
    const p = s.points;
    for (let i = 0; i < p.length; i += 2) {
      const x = p[i];
      const y = p[i + 1];
      if (i === 0) {
        work += addDisc(spans, width, height, x, y, r);
        continue;
      }
      const px = p[i - 2];
      const py = p[i - 1];
      const n = Math.max(1, Math.ceil(Math.hypot(x - px, y - py) / step));
      // Only the dabs that can touch the image are visited: a hop across the margin paints nothing there.
      range[0] = 1;
      range[1] = n;
      dabRange(px, x, n, r, width, range);
      dabRange(py, y, n, r, height, range);
      work++;
      for (let k = range[0]; k <= range[1]; k++) work += addDisc(spans, width, height, px + ((x - px) * k) / n, py + ((y - py) * k) / n, r);
      if (work >= WORK_PER_YIELD) {
        work = 0;
        yield;
      }
    }
    spans.flush();
  }
  return out;
}

/** Row-major width x height bytes, 1 = may change; undefined when there is no mask at all. */
export function rasterizeMask(strokes: readonly MaskStroke[], width: number, height = width): Uint8Array | undefined {
  const steps = rasterizeMaskSteps(strokes, width, height);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
