/**
 * Drag options: defaults (DragGAN's official values scaled to the model's resolution) and validation of a
 * whole request, so a bad request fails before any tensor work with a message that names the bad field.
 */
import { DragInputError } from '../errors.js';
import type { Generator } from '../generator/generator.js';
import type { DragOptions, DragRequest, Point } from './types.js';

export function defaultDragOptions(gen: Generator): DragOptions {
  const res = gen.resolution;
  const method = 'stabledrag';
  // DragGAN's GUI: r1 = 3 and r2 = 12 at 512 px, scaled by h/512; floors keep a usable disc and window on
  // small models (at 128 px the scaled r1 would round to a single pixel).
  const r2 = Math.max(Math.round((12 * res) / 512), 3);
  return {
    method,
    lr: 0.002,
    r1: Math.max(Math.round((3 * res) / 512), 2),
    r2,
    lambda: 20,
    latentSpace: 'w+',
    optimizedLayers: Math.min(6, gen.numWs),
    maxSteps: 200,
    stopDistance: Math.max((2 * res) / 512, 2),
    // Tracked handles move in plateaus: on the bundled model a head turn sat at 5.2 px from step 40 to about 95 and
    // then went on to 2.2 px (docs/benchmarks.md, "The stall rule"), so the window is twice that long.
    stallSteps: 80,
    stallDistance: Math.max(res / 512, 1),
    imageEvery: 1,
    featureBlock: gen.config.drag_block,
    discriminativeTracking: true,
    // The label is as wide as one feature cell: narrower labels make the filter latch onto texture that
    // does not move with the content (measured on random and trained models, see docs/engine.md).
    tracker: { alpha: 1, ridge: 1, labelSigma: Math.max(1, res / gen.config.drag_block), fitRadius: 2 * r2 },
    // Confidence is the filter response relative to step 0 (~1.0-1.05 on average while tracking holds), so the
    // paper-like 0.6 never acts; 0.95 acts on the drops (4% of handle-steps in the 16-case sweep, better
    // tracking and fidelity for +0.08 px MD): docs/benchmarks.md, "Choosing StableDrag's constants".
    enhancement: { enabled: true, threshold: 0.95 },
  };
}

function finite(name: string, v: unknown, min: number, max: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DragInputError(`${name} must be a finite number, got ${String(v)}`);
  if (integer && !Number.isInteger(v)) throw new DragInputError(`${name} must be an integer, got ${v}`);
  if (v < min || v > max) throw new DragInputError(`${name} must be in [${min}, ${max}], got ${v}`);
  return v;
}

/** Merges user options over the defaults and checks every value. */
export function resolveDragOptions(gen: Generator, partial: DragRequest['options'] = {}): DragOptions {
  const d = defaultDragOptions(gen);
  const method = partial.method ?? d.method;
  if (method !== 'draggan' && method !== 'stabledrag') throw new DragInputError(`method must be 'draggan' or 'stabledrag', got ${String(method)}`);
  const isStable = method === 'stabledrag';
  const o: DragOptions = {
    ...d,
    ...partial,
    method,
    discriminativeTracking: partial.discriminativeTracking ?? isStable,
    tracker: { ...d.tracker, ...partial.tracker },
    enhancement: { ...d.enhancement, enabled: isStable, ...partial.enhancement },
  };
  const res = gen.resolution;
  finite('lr', o.lr, 1e-6, 1);
  finite('r1', o.r1, 0.5, res / 4);
  finite('r2', o.r2, 1, res / 4, true);
  finite('lambda', o.lambda, 0, 1e4);
  if (o.latentSpace !== 'w' && o.latentSpace !== 'w+') throw new DragInputError(`latentSpace must be 'w' or 'w+', got ${String(o.latentSpace)}`);
  finite('optimizedLayers', o.optimizedLayers, 1, gen.numWs, true);
  finite('maxSteps', o.maxSteps, 0, 10000, true);
  finite('stopDistance', o.stopDistance, 0, res);
  finite('stallSteps', o.stallSteps, 0, 1e9, true); // more than maxSteps: never
  finite('stallDistance', o.stallDistance, 0, res);
  finite('imageEvery', o.imageEvery, 1, 10000, true);
  if (!gen.blockResolutions().includes(o.featureBlock)) {
    throw new DragInputError(`featureBlock must be one of ${gen.blockResolutions().join(', ')}, got ${String(o.featureBlock)}`);
  }
  if (typeof o.discriminativeTracking !== 'boolean') throw new DragInputError('discriminativeTracking must be a boolean');
  finite('tracker.alpha', o.tracker.alpha, 0, 100);
  finite('tracker.ridge', o.tracker.ridge, 1e-6, 1e6);
  finite('tracker.labelSigma', o.tracker.labelSigma, 0.1, res / 4);
  finite('tracker.fitRadius', o.tracker.fitRadius, 1, res / 4, true);
  if (typeof o.enhancement.enabled !== 'boolean') throw new DragInputError('enhancement.enabled must be a boolean');
  finite('enhancement.threshold', o.enhancement.threshold, 0, 1);
  return o;
}

function checkPoint(p: unknown, what: string, res: number): Point {
  if (!Array.isArray(p) || p.length !== 2) throw new DragInputError(`${what} must be [x, y], got ${JSON.stringify(p)}`);
  const [x, y] = p as unknown[];
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
    throw new DragInputError(`${what} must hold finite numbers, got ${JSON.stringify(p)}`);
  }
  if (x < 0 || y < 0 || x > res - 1 || y > res - 1) {
    throw new DragInputError(`${what} (${x}, ${y}) is outside the ${res}x${res} image`);
  }
  return [x, y];
}

export const MAX_POINT_PAIRS = 32;

/** Validates points, mask and latent; returns the options. Throws DragInputError. */
export function validateDragRequest(gen: Generator, request: DragRequest): DragOptions {
  if (!request || typeof request !== 'object') throw new DragInputError('drag request must be an object');
  const latentProblem = gen.checkLatent(request.latent);
  if (latentProblem) throw new DragInputError(latentProblem);
  const res = gen.resolution;
  if (!Array.isArray(request.points) || request.points.length === 0) throw new DragInputError('a drag needs at least one handle/target pair');
  if (request.points.length > MAX_POINT_PAIRS) throw new DragInputError(`at most ${MAX_POINT_PAIRS} handle/target pairs, got ${request.points.length}`);
  request.points.forEach((pair, i) => {
    checkPoint(pair?.handle, `points[${i}].handle`, res);
    checkPoint(pair?.target, `points[${i}].target`, res);
  });
  if (request.mask !== undefined) {
    if (!(request.mask instanceof Uint8Array)) throw new DragInputError('mask must be a Uint8Array');
    if (request.mask.length !== res * res) throw new DragInputError(`mask has ${request.mask.length} values, expected ${res}x${res} = ${res * res}`);
  }
  return resolveDragOptions(gen, request.options);
}
