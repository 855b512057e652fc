/**
 * Drag benchmark cases: types, the deterministic planner and the case-file format (bench/cases.json).
 *
 * Planning is a pure function of the options and of the landmarks detected on each seed's image, so it is
 * tested without a generator; bench/generate.ts supplies the landmarks from the model and the detector.
 * Case i's category is fixed by i (length = bit 0, point count = bit 1, mask = bit 2), so every prefix of
 * 8 cases covers all 8 categories and `--cases N` stays balanced. Each case draws from its own PRNG stream
 * (masterSeed, i), so the first N cases of a larger file are the cases a smaller file would hold.
 */
import { MOTIONS, type Motion } from './motions.js';
import { mulberry32 } from '../training/faces/prng.js';

export type Point = [number, number];
export type LengthCategory = 'short' | 'long';
export type CountCategory = 'single' | 'multi';

export interface CasePoint {
  landmark: string;
  handle: Point;
  target: Point;
}

export interface DragCase {
  id: string;
  seed: number;
  length: LengthCategory;
  count: CountCategory;
  masked: boolean;
  motion: string;
  /** Flexible region as inclusive pixel boxes [x0, y0, x1, y1]; absent = no mask. */
  maskBoxes?: Array<[number, number, number, number]>;
  points: CasePoint[];
}

export interface PlanOptions {
  count: number;
  masterSeed: number;
  resolution: number;
  /** Drag length ranges in px (short must stay < 10% of the image, long > 25%). */
  shortRange: [number, number];
  longRange: [number, number];
  /** Random rotation of each drag direction, degrees (+-). */
  jitterDeg: number;
  /** Mask box margin around each handle-target pair, px. */
  maskMargin: number;
  /** Targets stay this far inside the image, px. */
  border: number;
  /** Seeds are drawn from [0, seedRange). */
  seedRange: number;
}

export function defaultPlanOptions(resolution = 128): PlanOptions {
  return {
    count: 128,
    masterSeed: 2024,
    resolution,
    shortRange: [0.04 * resolution, 0.095 * resolution],
    longRange: [0.26 * resolution, 0.32 * resolution],
    jitterDeg: 15,
    maskMargin: Math.round((10 * resolution) / 128),
    border: 3,
    seedRange: 100_000,
  };
}

/** The PRNG stream of case i. */
export function caseStream(masterSeed: number, index: number): () => number {
  return mulberry32((Math.imul(masterSeed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

export function categoryOf(index: number): { length: LengthCategory; count: CountCategory; masked: boolean } {
  return { length: index & 1 ? 'long' : 'short', count: index & 2 ? 'multi' : 'single', masked: (index & 4) !== 0 };
}

export function categoryKey(c: Pick<DragCase, 'length' | 'count' | 'masked'>): string {
  return `${c.length}/${c.count}/${c.masked ? 'mask' : 'no-mask'}`;
}

/** The seed of case i (drawn first from its stream, so it does not depend on the landmarks). */
export function caseSeed(o: Pick<PlanOptions, 'masterSeed' | 'seedRange'>, index: number): number {
  return Math.floor(caseStream(o.masterSeed, index)() * o.seedRange);
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * Plans case `index` from the landmarks of its seed's image (flat [x0, y0, x1, y1, ...] in `names` order).
 * Returns undefined when no motion fits (targets would leave the image or handles coincide).
 */
export function planCase(o: PlanOptions, index: number, landmarks: ArrayLike<number>, names: readonly string[]): DragCase | undefined {
  const rng = caseStream(o.masterSeed, index);
  const seed = Math.floor(rng() * o.seedRange);
  const cat = categoryOf(index);
  const pool: Motion[] = MOTIONS.filter((m) => (cat.length === 'long' ? m.long : true));
  const [lo, hi] = cat.length === 'long' ? o.longRange : o.shortRange;
  const at = (name: string): Point => {
    const k = names.indexOf(name);
    if (k < 0) throw new Error(`landmark '${name}' is not one of the detector's names`);
    return [landmarks[2 * k], landmarks[2 * k + 1]];
  };
  const inside = (q: Point) => q.every((v) => v >= o.border && v <= o.resolution - 1 - o.border);
  for (let attempt = 0; attempt < 64; attempt++) {
    const motion = pool[Math.floor(rng() * pool.length)];
    const variant = motion.variants[Math.floor(rng() * motion.variants.length)];
    let chosen = variant.points;
    if (cat.count === 'single') chosen = [chosen[Math.floor(rng() * chosen.length)]];
    const points: CasePoint[] = chosen.map((mp) => {
      const handle = at(mp.landmark);
      const len = lo + rng() * (hi - lo);
      const a = Math.atan2(mp.dir[1], mp.dir[0]) + ((rng() * 2 - 1) * o.jitterDeg * Math.PI) / 180;
      const target: Point = [handle[0] + len * Math.cos(a), handle[1] + len * Math.sin(a)];
      return { landmark: mp.landmark, handle: [round2(handle[0]), round2(handle[1])], target: [round2(target[0]), round2(target[1])] };
    });
    if (!points.every((q) => inside(q.handle) && inside(q.target))) continue;
    // Rounding must not push a length out of its category.
    if (!points.every((q) => { const d = dist(q.handle, q.target); return d >= lo - 0.02 && d <= hi + 0.02; })) continue;
    const apart = (sel: (q: CasePoint) => Point) =>
      points.every((q, i) => points.every((r, j) => j <= i || dist(sel(q), sel(r)) >= 4));
    if (!apart((q) => q.handle) || !apart((q) => q.target)) continue;
    const c: DragCase = {
      id: `c${String(index).padStart(3, '0')}`,
      seed,
      ...cat,
      motion: `${motion.name}:${variant.name}`,
      points,
    };
    if (cat.masked) c.maskBoxes = points.map((q) => maskBox(q, o.maskMargin, o.resolution));
    return c;
  }
  return undefined;
}

export function dist(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

function maskBox(q: CasePoint, margin: number, res: number): [number, number, number, number] {
  const c = (v: number) => Math.min(Math.max(v, 0), res - 1);
  return [
    c(Math.floor(Math.min(q.handle[0], q.target[0]) - margin)),
    c(Math.floor(Math.min(q.handle[1], q.target[1]) - margin)),
    c(Math.ceil(Math.max(q.handle[0], q.target[0]) + margin)),
    c(Math.ceil(Math.max(q.handle[1], q.target[1]) + margin)),
  ];
}

/** The flexible-region mask (1 = may change) of a case at image resolution; undefined without a mask. */
export function caseMask(c: DragCase, res: number): Uint8Array | undefined {
  if (!c.maskBoxes) return undefined;
  const m = new Uint8Array(res * res);
  for (const [x0, y0, x1, y1] of c.maskBoxes) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * res + x] = 1;
  return m;
}

/**
 * Plans `count` cases. `landmarksOf(seed)` gives the detected landmarks of a seed's image. A case index whose
 * seed fits no motion is skipped (its category slot is then filled by the next index of the same category),
 * so the file always holds `count` cases with the category pattern intact.
 */
export function planCases(o: PlanOptions, landmarksOf: (seed: number) => ArrayLike<number>, names: readonly string[]): DragCase[] {
  const out: DragCase[] = [];
  const used = new Set<number>();
  for (let slot = 0; slot < o.count; slot++) {
    let c: DragCase | undefined;
    // Try indices slot, slot + 8, slot + 16, ... (same category bits) that no earlier slot used.
    for (let index = slot; !c; index += 8) {
      if (index > slot + 8 * 64) throw new Error(`no drag fits for category slot ${slot}: are the landmarks sensible?`);
      if (used.has(index)) continue;
      used.add(index);
      c = planCase(o, index, landmarksOf(caseSeed(o, index)), names);
    }
    c.id = `c${String(slot).padStart(3, '0')}`;
    out.push(c);
  }
  return out;
}

export interface CaseFile {
  format: 'stabledrag-drag-bench-v1';
  generatedBy: string;
  model: { file: string; sha256: string; name?: string; training?: unknown };
  detector: { file: string; sha256: string };
  psi: number;
  options: PlanOptions;
  landmarkNames: string[];
  cases: DragCase[];
}

/** Checks a parsed case file's shape (enough to fail early with a clear message). */
export function checkCaseFile(raw: unknown, source: string): CaseFile {
  const f = raw as CaseFile;
  if (!f || f.format !== 'stabledrag-drag-bench-v1') throw new Error(`${source}: not a drag benchmark case file (format ${JSON.stringify((f as { format?: unknown })?.format)})`);
  if (!Array.isArray(f.cases) || f.cases.length === 0) throw new Error(`${source}: no cases`);
  for (const c of f.cases) {
    if (!Array.isArray(c.points) || c.points.length === 0) throw new Error(`${source}: case ${c.id} has no points`);
  }
  return f;
}
