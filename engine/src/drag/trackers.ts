/**
 * Point trackers. Both look for a handle's content in a window around its last position on the current
 * feature map.
 *
 * - Nearest neighbour (DragGAN): the window point whose feature is closest (L2) to the handle's feature in
 *   the first step. Its confidence is the cosine similarity of the match, for display only.
 * - Discriminative (StableDrag): a per-handle linear filter z over the C channels, fitted once at step 0 by
 *   ridge regression to a Gaussian label centred on the handle, on a window that includes the surrounding
 *   background, so it learns what distinguishes the handle from nearby look-alikes. The filter is
 *   regularised towards the handle's own (normalised) feature, i.e. "initialised from the template". The
 *   score combines the filter response with the feature-difference term; confidence is the response at
 *   the chosen point relative to the response at the handle in step 0.
 */
import type { TrackerOptions, Point } from './types.js';
import { l2Normalize, sampleAt, windowPoints, type FeatureMap } from './features.js';

export interface TrackResult {
  position: Point;
  confidence: number;
}

/** DragGAN searches by L2 distance, DragDiffusion by L1. */
export type NearestMetric = 'l2' | 'l1';

export class NearestNeighbourTracker {
  private readonly normTemplate: Float32Array;

  constructor(
    readonly template: Float32Array,
    readonly metric: NearestMetric = 'l2',
  ) {
    this.normTemplate = l2Normalize(template, template.length);
  }

  track(map: FeatureMap, from: Point, radius: number): TrackResult {
    const candidates = windowPoints(from, radius, map.imageWidth, map.imageHeight);
    const feats = sampleAt(map, candidates);
    const C = map.channels;
    let best = 0;
    let bestDist = Infinity;
    for (let i = 0; i < candidates.length; i++) {
      let d = 0;
      for (let c = 0; c < C; c++) {
        const diff = feats[i * C + c] - this.template[c];
        d += this.metric === 'l2' ? diff * diff : Math.abs(diff);
      }
      if (d < bestDist) {
        bestDist = d;
        best = i;
      }
    }
    const chosen = l2Normalize(feats.subarray(best * C, best * C + C), C);
    let cos = 0;
    for (let c = 0; c < C; c++) cos += chosen[c] * this.normTemplate[c];
    return { position: candidates[best], confidence: cos };
  }
}

/** Solves the symmetric positive-definite system A x = b (n x n, row-major) by Cholesky, in float64. */
export function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

function meanNorm(map: FeatureMap): number {
  const C = map.channels;
  let total = 0;
  for (let i = 0; i < map.rows.length; i += C) {
    let s = 0;
    for (let c = 0; c < C; c++) s += map.rows[i + c] * map.rows[i + c];
    total += Math.sqrt(s);
  }
  return Math.max(total / (map.rows.length / C), 1e-12);
}

export class DiscriminativeTracker {
  /** The learned filter over normalised features. */
  readonly filter: Float32Array;
  private readonly normTemplate: Float32Array;
  /** Filter response at the handle on the initial map: the scale confidence is measured against. */
  readonly initialResponse: number;
  private readonly templateNorm: number;

  /** One global scale (1 / mean feature norm of the initial map): magnitudes carry information, so
   * features are not normalised per point, only brought to a scale where responses are comparable. */
  private readonly scale: number;

  constructor(map0: FeatureMap, handle: Point, private readonly options: TrackerOptions) {
    const C = map0.channels;
    this.scale = 1 / meanNorm(map0);
    this.normTemplate = this.normalise(sampleAt(map0, [handle]));
    const pts = windowPoints(handle, options.fitRadius, map0.imageWidth, map0.imageHeight);
    const x = this.normalise(sampleAt(map0, pts));
    const n = pts.length;
    const s2 = 2 * options.labelSigma * options.labelSigma;
    const y = pts.map((p) => Math.exp(-((p[0] - handle[0]) ** 2 + (p[1] - handle[1]) ** 2) / s2));
    // Normal equations of |X z - y|^2 + mu |z - f|^2, with mu relative to the data's scale (trace / C).
    const a = new Float64Array(C * C);
    const b = new Float64Array(C);
    for (let i = 0; i < n; i++) {
      const row = i * C;
      for (let c = 0; c < C; c++) {
        const v = x[row + c];
        b[c] += v * y[i];
        for (let d = 0; d <= c; d++) a[c * C + d] += v * x[row + d];
      }
    }
    let trace = 0;
    for (let c = 0; c < C; c++) trace += a[c * C + c];
    const mu = (options.ridge * trace) / C;
    for (let c = 0; c < C; c++) {
      for (let d = 0; d < c; d++) a[d * C + c] = a[c * C + d];
      a[c * C + c] += mu;
      b[c] += mu * this.normTemplate[c];
    }
    this.filter = Float32Array.from(solveSpd(a, b, C));
    this.initialResponse = Math.max(this.response(this.normTemplate, 0), 1e-6);
    this.templateNorm = Math.max(Math.hypot(...this.normTemplate), 1e-12);
  }

  private normalise(feats: Float32Array): Float32Array {
    return feats.map((v) => v * this.scale);
  }

  private response(normFeats: Float32Array, index: number): number {
    const C = this.filter.length;
    let s = 0;
    for (let c = 0; c < C; c++) s += this.filter[c] * normFeats[index * C + c];
    return s;
  }

  /** Confidence of the content at `at` being the handle (1 = as at step 0). */
  confidenceAt(map: FeatureMap, at: Point): number {
    const f = this.normalise(sampleAt(map, [at]));
    return this.response(f, 0) / this.initialResponse;
  }

  track(map: FeatureMap, from: Point, radius: number): TrackResult {
    const C = map.channels;
    const candidates = windowPoints(from, radius, map.imageWidth, map.imageHeight);
    const feats = this.normalise(sampleAt(map, candidates));
    let best = 0;
    let bestScore = -Infinity;
    let bestResponse = 0;
    for (let i = 0; i < candidates.length; i++) {
      const r = this.response(feats, i) / this.initialResponse;
      let d = 0;
      for (let c = 0; c < C; c++) d += (feats[i * C + c] - this.normTemplate[c]) ** 2;
      // The feature difference relative to the template's size, so both terms are on the same scale.
      const score = r - this.options.alpha * (Math.sqrt(d) / this.templateNorm);
      if (score > bestScore) {
        bestScore = score;
        best = i;
        bestResponse = r;
      }
    }
    return { position: candidates[best], confidence: bestResponse };
  }
}
