/**
 * The rasteriser against the straightforward one it replaced (every dab painted as a disc, pixel by pixel):
 * peers and the server must agree on every pixel of masks already in rooms, so the two must be identical.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../training/faces/prng.js';
import { DOC_LIMITS } from './doc-limits';
import { isMaskStroke, rasterizeMask, rasterizeMaskSteps, type MaskStroke } from './mask';

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
    const px = s.points[i - 2];
    const py = s.points[i - 1];
    const n = Math.max(1, Math.ceil(Math.hypot(x - px, y - py) / step));
    for (let k = 1; k <= n; k++) paintDisc(out, size, px + ((x - px) * k) / n, py + ((y - py) * k) / n, r, value);
  }
}

/** The disc-by-disc rasteriser, kept as the reference. */
function referenceMask(strokes: readonly MaskStroke[], size: number): Uint8Array | undefined {
  const valid = strokes.filter(isMaskStroke);
  if (valid.length === 0) return undefined;
  const out = new Uint8Array(size * size).fill(valid.some((s) => s.mode === 'flexible') ? 0 : 1);
  for (const s of valid) paintStroke(out, size, s, s.mode === 'flexible' ? 1 : 0);
  return out;
}

/** Strokes like a pointer paints (short hops), jumps across the image, dabs off the image and tiny radii. */
function randomStrokes(rnd: () => number, size: number, count: number): MaskStroke[] {
  const margin = DOC_LIMITS.maxBrushRadius;
  const coord = () => -margin + rnd() * (size + 2 * margin);
  const strokes: MaskStroke[] = [];
  for (let i = 0; i < count; i++) {
    const pick = rnd();
    const radius = pick < 0.2 ? 0.5 + rnd() : pick < 0.3 ? Math.round(1 + rnd() * 8) : pick < 0.4 ? 128 * rnd() + 0.5 : 1 + rnd() * size * 0.3;
    const points: number[] = [];
    let x = rnd() < 0.2 ? coord() : rnd() * size;
    let y = rnd() < 0.2 ? coord() : rnd() * size;
    const dabs = 1 + Math.floor(rnd() * 40);
    for (let d = 0; d < dabs; d++) {
      if (rnd() < 0.15) [x, y] = [coord(), coord()];
      else [x, y] = [x + (rnd() - 0.5) * radius * 3, y + (rnd() - 0.5) * radius * 3];
      // Integer and half-pixel dabs put pixel centres exactly on circle edges.
      if (rnd() < 0.3) [x, y] = [Math.round(x * 2) / 2, Math.round(y * 2) / 2];
      points.push(x, y);
    }
    strokes.push({ id: String(i), mode: rnd() < 0.7 ? 'flexible' : 'fixed', radius, points });
  }
  return strokes;
}

describe('rasterizeMask', () => {
  it('matches the disc-by-disc rasteriser pixel for pixel on random strokes', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = mulberry32(seed);
      const size = [8, 17, 32, 64, 128][seed % 5];
      const strokes = randomStrokes(rnd, size, 1 + Math.floor(rnd() * 6));
      const got = rasterizeMask(strokes, size);
      const want = referenceMask(strokes, size);
      const diff = want!.findIndex((v, i) => got![i] !== v);
      expect(diff, `seed ${seed}: first differing pixel ${diff}`).toBe(-1);
    }
  });

  it('matches it on the edge cases: single dabs, zero-length hops, all strokes fixed, dabs far off the image', () => {
    const cases: MaskStroke[][] = [
      [{ id: 'a', mode: 'flexible', radius: 0.5, points: [3, 3] }],
      [{ id: 'b', mode: 'flexible', radius: 2, points: [5, 5, 5, 5, 5, 5] }],
      [{ id: 'c', mode: 'fixed', radius: 3.5, points: [0, 0, 15, 15] }],
      [{ id: 'd', mode: 'flexible', radius: 128, points: [-128, -128, 144, 144] }],
      [{ id: 'e', mode: 'flexible', radius: 1, points: [-100, 4, 200, 4, -100, 12] }],
      [{ id: 'f', mode: 'flexible', radius: 2.5, points: [7.5, 7.5, 7.5, 0.5] }, { id: 'g', mode: 'fixed', radius: 0.5, points: [7, 7, 8, 8] }],
    ];
    for (const strokes of cases) expect(rasterizeMask(strokes, 16), JSON.stringify(strokes)).toEqual(referenceMask(strokes, 16));
  });

  it('gives the same mask in pieces, yielding between them on a large mask', () => {
    const strokes = randomStrokes(mulberry32(99), 128, 400);
    const steps = rasterizeMaskSteps(strokes, 128);
    let pieces = 0;
    let r = steps.next();
    while (!r.done) {
      pieces++;
      r = steps.next();
    }
    expect(r.value).toEqual(rasterizeMask(strokes, 128));
    expect(pieces).toBeGreaterThan(0);
  });
});
