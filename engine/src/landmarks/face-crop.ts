/**
 * A suggested square crop of a photo for the faces model, from the landmark detector alone. The detector has
 * no face-presence output and was trained only on faces framed as the training renders frame them, so it is
 * used as a framing test instead: detect in a window, fit the training renders' mean landmark layout
 * (FRAME_TEMPLATE) to what it found, and read off the window the landmarks imply (where the training frame
 * would sit). On a window that already frames a face as the training data does, the implied window is the
 * window itself; on background or a badly framed face the two disagree (and the landmarks fit the layout
 * badly). The search:
 *
 * 1. coarse: square windows at SCALES of the photo's shorter side, overlapping by two thirds, all detected
 *    in batches; each gives the window its landmarks imply;
 * 2. the implied windows (which point towards a face from windows that held part of one), deduplicated and
 *    ranked by their coarse window's self-consistency, are refined as a fixed point: window <- implied
 *    window, REFINE_STEPS times;
 * 3. each refined window is scored by its self-consistency (IoU of the window and the window it implies)
 *    and how well its landmarks fit the layout; the best wins.
 *
 * Cost is bounded by the window count (a few hundred 128 px detections, ~5 ms each batched on wasm),
 * whatever the photo's size: windows are resampled from the image given, which the caller shrinks first.
 */
import type { RGBAImage } from '../drag/types.js';
import type { LandmarkDetector } from './detector.js';

/**
 * Mean landmarks (x, y in 128 px, LANDMARK_NAMES order) of the faces model's training renders: seeds 0..399 of
 * training/faces version 1 (tests/engine/face-crop.test.ts recomputes it).
 */
export const FRAME_TEMPLATE: readonly number[] = [
  39.83, 58.78, 55.51, 58.77, 72.66, 58.78, 88.33, 58.76, 47.65, 58.47, 80.48, 58.47, 38.26, 50.62, 89.9, 50.6, 64.12, 74.85,
  54.32, 89.8, 73.91, 89.78, 64.12, 88.4, 64.12, 95.04, 64.09, 111.35, 23.52, 55.7, 104.43, 55.65, 63.97, 7.15,
];

/** Window sides as fractions of the photo's shorter side (a face smaller than the smallest is not looked for). */
const SCALES = [1, 0.8, 0.64, 0.51, 0.41, 0.33, 0.26, 0.21];
/** Windows per side length along each axis step: 3 = neighbours overlap by two thirds. */
const STRIDE_DIVISOR = 3;
/** Implied windows refined from the coarse pass, and fixed-point steps each. */
const CANDIDATES = 10;
const REFINE_STEPS = 4;
const BATCH = 16;
/**
 * Confidence is a logistic in the disagreement: 0.5 at DISAGREEMENT_MID, steepness DISAGREEMENT_WIDTH. With
 * PERTURBATIONS of 12% and 15%, procedural faces pasted into backgrounds gave 0.049-0.059 and face-free
 * backgrounds 0.079-0.090 (tests/engine/face-crop.test.ts keeps such cases).
 */
const DISAGREEMENT_MID = 0.068;
const DISAGREEMENT_WIDTH = 0.006;

export interface Square {
  left: number;
  top: number;
  side: number;
}

export interface FaceCropSuggestion {
  /** The suggested square in the image's pixels (may reach past its edges; the caller fits it). */
  window: Square;
  /** IoU of the window and the window its landmarks imply (1: framed exactly as the training data). */
  consistency: number;
  /** RMS distance of the landmarks from the fitted layout, in 128 px units. */
  residual: number;
  /** RMS movement of the landmarks in the photo when the window is moved and resized, as a share of its side. */
  disagreement: number;
  /** 0..1 from the two above; FACE_CROP_CONFIDENT and above: a face framed like the training data was found. */
  confidence: number;
  /** Detector passes run (windows looked at). */
  windows: number;
}

/** The confidence from which the suggestion is offered as a face's crop (DISAGREEMENT_MID's). */
export const FACE_CROP_CONFIDENT = 0.5;

export function iou(a: Square, b: Square): number {
  const w = Math.min(a.left + a.side, b.left + b.side) - Math.max(a.left, b.left);
  const h = Math.min(a.top + a.side, b.top + b.side) - Math.max(a.top, b.top);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.side * a.side + b.side * b.side - inter);
}

/** Bilinear resample of a square window of `image` to size x size RGB normalised for the detector (edges clamped). */
function sampleWindow(image: RGBAImage, win: Square, size: number, norm: { scale: number; offset: number }, out: Float32Array, at: number): void {
  const { width, height, data } = image;
  const step = win.side / size;
  for (let j = 0; j < size; j++) {
    const y = Math.min(height - 1, Math.max(0, win.top + (j + 0.5) * step - 0.5));
    const y0 = Math.floor(y);
    const y1 = Math.min(height - 1, y0 + 1);
    const fy = y - y0;
    for (let i = 0; i < size; i++) {
      const x = Math.min(width - 1, Math.max(0, win.left + (i + 0.5) * step - 0.5));
      const x0 = Math.floor(x);
      const x1 = Math.min(width - 1, x0 + 1);
      const fx = x - x0;
      const p00 = 4 * (y0 * width + x0), p01 = 4 * (y0 * width + x1), p10 = 4 * (y1 * width + x0), p11 = 4 * (y1 * width + x1);
      const o = at + 3 * (j * size + i);
      for (let c = 0; c < 3; c++) {
        const top = data[p00 + c] + (data[p01 + c] - data[p00 + c]) * fx;
        const bottom = data[p10 + c] + (data[p11 + c] - data[p10 + c]) * fx;
        out[o + c] = (top + (bottom - top) * fy) * norm.scale + norm.offset;
      }
    }
  }
}

interface Implied {
  window: Square;
  residual: number;
  /** The landmarks in the image's pixels (x, y pairs). */
  points: Float32Array;
}

/** Fits landmarks ≈ a * FRAME_TEMPLATE + b (least squares) and maps the training frame back into the image. */
function impliedWindow(win: Square, lm: Float32Array, at: number, size: number): Implied {
  const n = FRAME_TEMPLATE.length / 2;
  // Landmarks in 128 px window units (the template's).
  const l = new Float32Array(2 * n);
  for (let k = 0; k < 2 * n; k++) l[k] = (lm[at + k] + 0.5) * (128 / size) - 0.5;
  let tx = 0, ty = 0, lx = 0, ly = 0;
  for (let k = 0; k < n; k++) {
    tx += FRAME_TEMPLATE[2 * k];
    ty += FRAME_TEMPLATE[2 * k + 1];
    lx += l[2 * k];
    ly += l[2 * k + 1];
  }
  tx /= n; ty /= n; lx /= n; ly /= n;
  let num = 0, den = 0;
  for (let k = 0; k < n; k++) {
    const dx = FRAME_TEMPLATE[2 * k] - tx, dy = FRAME_TEMPLATE[2 * k + 1] - ty;
    num += dx * (l[2 * k] - lx) + dy * (l[2 * k + 1] - ly);
    den += dx * dx + dy * dy;
  }
  const a = Math.max(1e-3, num / den);
  let err = 0;
  for (let k = 0; k < n; k++) {
    const ex = l[2 * k] - (lx + a * (FRAME_TEMPLATE[2 * k] - tx));
    const ey = l[2 * k + 1] - (ly + a * (FRAME_TEMPLATE[2 * k + 1] - ty));
    err += ex * ex + ey * ey;
  }
  const px = win.side / 128;
  const points = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    points[2 * k] = win.left + (l[2 * k] + 0.5) * px;
    points[2 * k + 1] = win.top + (l[2 * k + 1] + 0.5) * px;
  }
  // The training frame's corner in window units: the landmarks' mean minus the scaled template mean.
  return { window: { left: win.left + (lx - a * tx) * px, top: win.top + (ly - a * ty) * px, side: 128 * a * px }, residual: Math.sqrt(err / n) / a, points };
}

/**
 * How far two detections of the same photo disagree, RMS over landmarks in units of `side`. The detector
 * follows a face when its window moves (small), but on anything else it draws its learned layout wherever the
 * window is, so its landmarks move with the window (large).
 */
function disagreement(a: Float32Array, b: Float32Array, side: number): number {
  let sum = 0;
  for (let k = 0; k < a.length; k += 2) sum += (a[k] - b[k]) ** 2 + (a[k + 1] - b[k + 1]) ** 2;
  return Math.sqrt(sum / (a.length / 2)) / side;
}

/** Confidence from a disagreement: near 1 for a face, near 0 for landmarks that follow the window. */
function confidenceOf(d: number): number {
  return 1 / (1 + Math.exp((d - DISAGREEMENT_MID) / DISAGREEMENT_WIDTH));
}

/** Runs the detector on windows, BATCH at a time; returns what each one implies. */
function implyAll(detector: LandmarkDetector, image: RGBAImage, windows: Square[]): Implied[] {
  const size = detector.inputSize;
  const norm = detector.config.normalization;
  const out: Implied[] = [];
  for (let s = 0; s < windows.length; s += BATCH) {
    const batch = windows.slice(s, s + BATCH);
    const input = new Float32Array(batch.length * size * size * 3);
    batch.forEach((w, k) => sampleWindow(image, w, size, norm, input, k * size * size * 3));
    const lm = detector.detectNormalized(input, batch.length);
    const per = detector.landmarkNames.length * 2;
    batch.forEach((w, k) => out.push(impliedWindow(w, lm, k * per, size)));
  }
  return out;
}

/** The window moved and resized by fractions of its side (the re-crops a face's landmarks must survive). */
function moved(w: Square, dx: number, dy: number, scale: number): Square {
  const side = w.side * scale;
  return { left: w.left + dx * w.side + (w.side - side) / 2, top: w.top + dy * w.side + (w.side - side) / 2, side };
}

const PERTURBATIONS: readonly [number, number, number][] = [[0.12, 0, 1], [-0.12, 0, 1], [0, 0.12, 1], [0, -0.12, 1], [0, 0, 0.85], [0, 0, 1.15]];

/** The coarse windows for an image: SCALES of its shorter side, STRIDE_DIVISOR positions per side, with grid neighbours. */
export function coarseWindows(width: number, height: number): { windows: Square[]; neighbours: number[][] } {
  const windows: Square[] = [];
  const neighbours: number[][] = [];
  const short = Math.min(width, height);
  for (const f of SCALES) {
    const side = short * f;
    const stride = side / STRIDE_DIVISOR;
    const nx = Math.max(1, Math.round((width - side) / stride) + 1);
    const ny = Math.max(1, Math.round((height - side) / stride) + 1);
    const base = windows.length;
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const left = nx === 1 ? (width - side) / 2 : (i * (width - side)) / (nx - 1);
        const top = ny === 1 ? (height - side) / 2 : (j * (height - side)) / (ny - 1);
        windows.push({ left, top, side });
        const near: number[] = [];
        if (i > 0) near.push(base + j * nx + i - 1);
        if (i < nx - 1) near.push(base + j * nx + i + 1);
        if (j > 0) near.push(base + (j - 1) * nx + i);
        if (j < ny - 1) near.push(base + (j + 1) * nx + i);
        neighbours.push(near);
      }
    }
  }
  return { windows, neighbours };
}

/** The best-framed face window of `image`, with its confidence (low when there is no face to frame). */
export function suggestFaceCrop(detector: LandmarkDetector, image: RGBAImage): FaceCropSuggestion {
  const short = Math.min(image.width, image.height);
  const coarse = coarseWindows(image.width, image.height);
  const seen = implyAll(detector, image, coarse.windows);
  let windows = coarse.windows.length;
  // Coarse score: agreement with a grid neighbour (a window overlapping by two thirds) in the photo's pixels.
  const ranked = coarse.windows
    .map((w, k) => {
      const near = coarse.neighbours[k];
      const d = near.length ? Math.min(...near.map((q) => disagreement(seen[k].points, seen[q].points, w.side))) : 1;
      return { implied: seen[k].window, score: confidenceOf(d) };
    })
    // An implied window far larger than the photo or vanishingly small is no face of it.
    .filter((c) => c.implied.side > short * 0.1 && c.implied.side < short * 2)
    .sort((a, b) => b.score - a.score);
  const picked: Square[] = [];
  for (const c of ranked) {
    if (picked.length >= CANDIDATES) break;
    if (picked.every((p) => iou(p, c.implied) < 0.5)) picked.push(c.implied);
  }
  if (picked.length === 0) picked.push({ left: (image.width - short) / 2, top: (image.height - short) / 2, side: short });
  // Fixed point: a window framed like the training data implies itself.
  let current = picked;
  let last: Implied[] = [];
  for (let step = 0; step < REFINE_STEPS; step++) {
    last = implyAll(detector, image, current);
    windows += current.length;
    if (step < REFINE_STEPS - 1) current = last.map((l) => l.window);
  }
  // Final score: the landmarks must stay put in the photo when the window is moved and resized.
  const probes = current.flatMap((w) => PERTURBATIONS.map(([dx, dy, sc]) => moved(w, dx, dy, sc)));
  const probed = implyAll(detector, image, probes);
  windows += probes.length;
  let best: FaceCropSuggestion | undefined;
  current.forEach((w, k) => {
    const ds = PERTURBATIONS.map((_, p) => disagreement(last[k].points, probed[k * PERTURBATIONS.length + p].points, w.side));
    const d = ds.reduce((x, y) => x + y, 0) / ds.length;
    const confidence = confidenceOf(d);
    if (!best || confidence > best.confidence) {
      best = { window: w, consistency: iou(w, last[k].window), residual: last[k].residual, disagreement: d, confidence, windows };
    }
  });
  return { ...best!, windows };
}
