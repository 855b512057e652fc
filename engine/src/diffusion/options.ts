/**
 * The diffusion drag's settings: LoRA fine-tuning and the drag loop. Defaults are those DragDiffusion's code
 * sets; the bounds (and the defaults a room shares) are contract/diffusion-settings.ts's, so the studio's
 * settings and the engine's checks are one definition. A bad value fails before any tensor work with a message naming the field.
 */
import { DiffusionInputError } from './errors.js';
import { DIFFUSION_DRAG_BOUNDS, DIFFUSION_DRAG_METHODS, DIFFUSION_SETTINGS_SCHEMA, LORA_BOUNDS, type DiffusionDragMethod, type DiffusionSettings } from '../../../contract/diffusion-settings.js';

export { DIFFUSION_DRAG_BOUNDS, DIFFUSION_DRAG_METHODS, LORA_BOUNDS, type DiffusionDragMethod };

/** The largest image side a diffusion drag takes (SD 1.5 works at 512); here, without tensor code, for the studio's model registry too. */
export const MAX_DIFFUSION_IMAGE_SIDE = 1024;

export interface LoRAOptions {
  /** Rank of each adapter (DragDiffusion: 16). */
  rank: number;
  /** Adam learning rate (DragDiffusion: 5e-4). */
  lr: number;
  /** Training steps (DragDiffusion: 80; 0 skips LoRA). */
  steps: number;
  /** Noised copies of the image per step (DragDiffusion: 4). */
  batch: number;
  /** Seeds the adapters' init, the noise and the timesteps. */
  seed: number;
}

export interface DiffusionDragOptions {
  method: DiffusionDragMethod;
  /** DDIM steps of the whole schedule (DragDiffusion: 50). */
  ddimSteps: number;
  /** Fraction of the schedule inverted: the latent optimised is at step floor(ddimSteps * strength) (0.7 -> 35). */
  inversionStrength: number;
  /**
   * Which up block's output feeds supervision and tracking, clamped to the UNet's last. Unset: the one before
   * the last (drag-session.ts's supervisedUpBlock), as DragDiffusion's third of SD 1.5's four.
   */
  featureBlock?: number;
  /** Motion-supervision patch radius r_m, in feature pixels (the square of side 2 r_m + 1). */
  rM: number;
  /** Tracking window radius r_p, in feature pixels. */
  rP: number;
  /** Weight of the term keeping the next step's latent unchanged outside the mask. */
  lambda: number;
  /** Adam learning rate on the latent. */
  lr: number;
  maxSteps: number;
  /** A handle within this many feature pixels of its target is done (DragDiffusion: 2). */
  stopDistance: number;
  /** A VAE decode every this many steps (and at the first and last); every step has a cheap latent preview. */
  decodeEvery: number;
  /**
   * The self-attention layer (counted from 0 in forward order) from which the final denoising shares the
   * original's keys/values (MasaCtrl). Unset: the same share of the UNet's layers as DragDiffusion's 10 of
   * SD 1.5's 16 (masactrl.ts's masaStartLayer), so a UNet of any depth shares its later up-block layers.
   */
  masaLayer?: number;
  /** StableDrag's tracker constants (the GAN drag's, in feature pixels). */
  tracker: { alpha: number; ridge: number; labelSigma: number; fitRadius: number };
  /** Confidence-based enhancement threshold (StableDrag-Diff only). */
  enhancementThreshold: number;
  lora: LoRAOptions;
}

export const DEFAULT_LORA: LoRAOptions = { rank: 16, lr: 5e-4, steps: 80, batch: 4, seed: 42 };

export const DEFAULT_DIFFUSION_DRAG: DiffusionDragOptions = {
  // The defaults a room shares come from the studio's schema (DragDiffusion's values).
  method: DIFFUSION_SETTINGS_SCHEMA.method.default,
  ddimSteps: DIFFUSION_SETTINGS_SCHEMA.ddimSteps.default,
  inversionStrength: DIFFUSION_SETTINGS_SCHEMA.inversionStrength.default,
  featureBlock: undefined,
  rM: 1,
  rP: 3,
  lambda: DIFFUSION_SETTINGS_SCHEMA.lambda.default,
  lr: DIFFUSION_SETTINGS_SCHEMA.lr.default,
  maxSteps: 80,
  stopDistance: 2,
  decodeEvery: DIFFUSION_SETTINGS_SCHEMA.decodeEvery.default,
  masaLayer: undefined,
  // The GAN drag's settled constants; the label one feature cell wide.
  tracker: { alpha: 1, ridge: 1, labelSigma: 1, fitRadius: 6 },
  enhancementThreshold: 0.95,
  lora: DEFAULT_LORA,
};

export const TRACKER_BOUNDS = {
  alpha: [0, 100, false],
  ridge: [1e-6, 1e6, false],
  labelSigma: [0.1, 64, false],
  fitRadius: [1, 64, true],
} as const;

export type DiffusionDragOptionsInput = Partial<Omit<DiffusionDragOptions, 'lora' | 'tracker'>> & {
  lora?: Partial<LoRAOptions>;
  tracker?: Partial<DiffusionDragOptions['tracker']>;
};

type Bounds = Record<string, readonly [number, number, boolean]>;

/** A room's diffusion settings (or a model card's) as the drag's options: their one mapping (loraSteps is lora.steps). */
export function roomSettingsToOptions(settings: Partial<DiffusionSettings>): DiffusionDragOptionsInput {
  const { loraSteps, ...rest } = settings;
  return { ...rest, ...(loraSteps !== undefined ? { lora: { steps: loraSteps } } : {}) };
}

/** Options that may stay unset (the run resolves them against the model). */
const MODEL_RESOLVED: readonly string[] = ['masaLayer', 'featureBlock'];

function checkNumbers<T extends object>(prefix: string, value: T, bounds: Bounds): void {
  for (const [key, [min, max, integer]] of Object.entries(bounds)) {
    const v = (value as Record<string, unknown>)[key];
    const name = prefix + key;
    if (v === undefined && MODEL_RESOLVED.includes(name)) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new DiffusionInputError(`${name} must be a finite number, got ${String(v)}`);
    if (integer && !Number.isInteger(v)) throw new DiffusionInputError(`${name} must be an integer, got ${v}`);
    if (v < min || v > max) throw new DiffusionInputError(`${name} must be in [${min}, ${max}], got ${v}`);
  }
}

function checkKeys(prefix: string, given: object, known: object): void {
  for (const key of Object.keys(given)) {
    if (!(key in known)) throw new DiffusionInputError(`unknown option ${prefix}${key}`);
  }
}

export function resolveLoRAOptions(input: Partial<LoRAOptions> = {}): LoRAOptions {
  if (typeof input !== 'object' || input === null) throw new DiffusionInputError('lora options must be an object');
  checkKeys('lora.', input, DEFAULT_LORA);
  const o = { ...DEFAULT_LORA, ...input };
  checkNumbers('lora.', o, LORA_BOUNDS);
  return o;
}

/** Merges a caller's options over the defaults and checks every value. */
export function resolveDiffusionDragOptions(input: DiffusionDragOptionsInput = {}): DiffusionDragOptions {
  if (typeof input !== 'object' || input === null) throw new DiffusionInputError('options must be an object');
  checkKeys('', input, DEFAULT_DIFFUSION_DRAG);
  const { lora, tracker, ...rest } = input;
  if (tracker !== undefined && (typeof tracker !== 'object' || tracker === null)) throw new DiffusionInputError('tracker options must be an object');
  checkKeys('tracker.', tracker ?? {}, DEFAULT_DIFFUSION_DRAG.tracker);
  const o: DiffusionDragOptions = {
    ...DEFAULT_DIFFUSION_DRAG,
    ...rest,
    tracker: { ...DEFAULT_DIFFUSION_DRAG.tracker, ...tracker },
    lora: resolveLoRAOptions(lora),
  };
  if (!DIFFUSION_DRAG_METHODS.includes(o.method)) {
    throw new DiffusionInputError(`method must be one of ${DIFFUSION_DRAG_METHODS.join(', ')}, got ${String(o.method)}`);
  }
  checkNumbers('', o, DIFFUSION_DRAG_BOUNDS);
  checkNumbers('tracker.', o.tracker, TRACKER_BOUNDS);
  return o;
}
