/**
 * Drag options: defaults (DragGAN's official values scaled to the model's image height) and validation of a
 * whole request, so a bad request fails before any tensor work with a message that names the bad field.
 */
import { DragInputError } from '../errors.js';
import type { ImageGenerator } from '../generator/types.js';
import type { DragOptions, DragRequest, Point, PointPair } from './types.js';
import { RUN_SETTINGS_SCHEMA } from '../../../contract/run-settings.js';

/**
 * What the engine accepts for the fields a room's settings also set. The rooms' bounds (RUN_SETTINGS_SCHEMA)
 * lie within these; the engine's API, its CLI and benchmarks may go further.
 */
export const DRAG_OPTION_BOUNDS = {
  lr: { min: 1e-6, max: 1 },
  lambda: { min: 0, max: 1e4 },
  maxSteps: { min: 0, max: 10000 },
} as const;

/**
 * DragGAN's pixel constants for an image of height h: it scales them by the height over 512
 * (round(r / 512 * h)); for a padded StyleGAN-Human model that is the padded square's side, its height too.
 */
export function dragPixelDefaults(h: number): Pick<DragOptions, 'r1' | 'r2' | 'stopDistance'> {
  // DragGAN's GUI: r1 = 3 and r2 = 12 at 512 px. The floors keep a usable disc and window on small models
  // (at 128 px the scaled r1 would round to a single pixel and r2 to 3).
  return {
    r1: Math.max(Math.round((3 * h) / 512), 2),
    r2: Math.max(Math.round((12 * h) / 512), 3),
    // DragGAN stops when every handle is within 2 px at 512 (scaled, at least 2 px).
    stopDistance: Math.max((2 * h) / 512, 2),
  };
}

export function defaultDragOptions(gen: ImageGenerator): DragOptions {
  const h = gen.height;
  // The defaults shared with the rooms' settings come from their schema; maxSteps is the engine's own (a lone run).
  const method = RUN_SETTINGS_SCHEMA.method.default;
  const { r1, r2, stopDistance } = dragPixelDefaults(h);
  const layer = gen.featureLayers()[gen.defaultFeatureLayer];
  return {
    method,
    lr: RUN_SETTINGS_SCHEMA.lr.default,
    r1,
    r2,
    lambda: RUN_SETTINGS_SCHEMA.lambda.default,
    latentSpace: RUN_SETTINGS_SCHEMA.latentSpace.default,
    optimizedLayers: Math.min(6, gen.numWs),
    maxSteps: 200,
    stopDistance,
    // Tracked handles move in plateaus: on the bundled model a head turn sat at 5.2 px from step 40 to about 95 and
    // then went on to 2.2 px (docs/benchmarks.md, "The stall rule"), so the window is twice that long.
    stallSteps: 80,
    stallDistance: Math.max(h / 512, 1),
    imageEvery: 1,
    featureLayer: gen.defaultFeatureLayer,
    discriminativeTracking: true,
    // The label is as wide as one feature cell: narrower labels make the filter latch onto texture that
    // does not move with the content (measured on random and trained models, see docs/engine.md).
    tracker: { alpha: 1, ridge: 1, labelSigma: Math.max(1, h / layer.height), fitRadius: 2 * r2 },
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
export function resolveDragOptions(gen: ImageGenerator, partial: DragRequest['options'] = {}): DragOptions {
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
  // Radii are bounded by the shorter side; distances by the longer one.
  const short = Math.min(gen.width, gen.height);
  const long = Math.max(gen.width, gen.height);
  finite('lr', o.lr, DRAG_OPTION_BOUNDS.lr.min, DRAG_OPTION_BOUNDS.lr.max);
  finite('r1', o.r1, 0.5, short / 4);
  finite('r2', o.r2, 1, short / 4, true);
  finite('lambda', o.lambda, DRAG_OPTION_BOUNDS.lambda.min, DRAG_OPTION_BOUNDS.lambda.max);
  if (o.latentSpace !== 'w' && o.latentSpace !== 'w+') throw new DragInputError(`latentSpace must be 'w' or 'w+', got ${String(o.latentSpace)}`);
  finite('optimizedLayers', o.optimizedLayers, 1, gen.numWs, true);
  finite('maxSteps', o.maxSteps, DRAG_OPTION_BOUNDS.maxSteps.min, DRAG_OPTION_BOUNDS.maxSteps.max, true);
  finite('stopDistance', o.stopDistance, 0, long);
  finite('stallSteps', o.stallSteps, 0, 1e9, true); // more than maxSteps: never
  finite('stallDistance', o.stallDistance, 0, long);
  finite('imageEvery', o.imageEvery, 1, 10000, true);
  const layers = gen.featureLayers();
  if (!layers.some((l) => l.index === o.featureLayer)) {
    const names = layers.map((l) => `${l.index} (${l.name})`).join(', ');
    throw new DragInputError(`featureLayer must be one of ${names}, got ${JSON.stringify(o.featureLayer)}`);
  }
  if (typeof o.discriminativeTracking !== 'boolean') throw new DragInputError('discriminativeTracking must be a boolean');
  finite('tracker.alpha', o.tracker.alpha, 0, 100);
  finite('tracker.ridge', o.tracker.ridge, 1e-6, 1e6);
  finite('tracker.labelSigma', o.tracker.labelSigma, 0.1, short / 4);
  finite('tracker.fitRadius', o.tracker.fitRadius, 1, short / 4, true);
  if (typeof o.enhancement.enabled !== 'boolean') throw new DragInputError('enhancement.enabled must be a boolean');
  finite('enhancement.threshold', o.enhancement.threshold, 0, 1);
  return o;
}

function checkPoint(p: unknown, what: string, width: number, height: number): Point {
  if (!Array.isArray(p) || p.length !== 2) throw new DragInputError(`${what} must be [x, y], got ${JSON.stringify(p)}`);
  const [x, y] = p as unknown[];
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
    throw new DragInputError(`${what} must hold finite numbers, got ${JSON.stringify(p)}`);
  }
  if (x < 0 || y < 0 || x > width - 1 || y > height - 1) {
    throw new DragInputError(`${what} (${x}, ${y}) is outside the ${width}x${height} image`);
  }
  return [x, y];
}

export const MAX_POINT_PAIRS = 32;

/** Validates points, mask and latent; returns the options. Throws DragInputError. */
export function validateDragRequest(gen: ImageGenerator, request: DragRequest): DragOptions {
  if (!request || typeof request !== 'object') throw new DragInputError('drag request must be an object');
  const latentProblem = gen.checkLatent(request.latent);
  if (latentProblem) throw new DragInputError(latentProblem);
  validatePointsAndMask(request.points, request.mask, gen.width, gen.height);
  return resolveDragOptions(gen, request.options);
}

/** Checks a drag's handle/target pairs and mask against an image of this size (any drag: GAN or diffusion). */
export function validatePointsAndMask(points: unknown, mask: unknown, width: number, height: number): void {
  if (!Array.isArray(points) || points.length === 0) throw new DragInputError('a drag needs at least one handle/target pair');
  if (points.length > MAX_POINT_PAIRS) throw new DragInputError(`at most ${MAX_POINT_PAIRS} handle/target pairs, got ${points.length}`);
  (points as Array<Partial<PointPair> | undefined>).forEach((pair, i) => {
    checkPoint(pair?.handle, `points[${i}].handle`, width, height);
    checkPoint(pair?.target, `points[${i}].target`, width, height);
  });
  if (mask !== undefined) {
    if (!(mask instanceof Uint8Array)) throw new DragInputError('mask must be a Uint8Array');
    if (mask.length !== width * height) {
      throw new DragInputError(`mask has ${mask.length} values, expected height x width = ${height}x${width} = ${width * height}`);
    }
  }
}
