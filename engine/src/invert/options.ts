/** Defaults and validation of inversion requests (the one place they live). */
import { InvertInputError } from '../errors.js';
import type { ImageGenerator } from '../generator/types.js';
import { FACES128_CONFIG, type ModelConfig } from '../model/config.js';
import type { InvertLoss, InvertOptions, InvertRequest } from './types.js';
import { INVERT_SETTINGS_SCHEMA } from '../../../contract/invert-settings.js';
import { LPIPS_MIN_SIDE } from './lpips.js';

/** What the engine accepts for a stage's steps: the rooms' bound (INVERT_SETTINGS_SCHEMA) lies within it. */
export const MAX_INVERT_STEPS = 10_000;
const LOSSES: readonly InvertLoss[] = ['pixel-multiscale', 'pixel-multiscale+detector', 'pixel-multiscale+discriminator', 'pixel-multiscale+lpips'];

export function defaultInvertOptions(): InvertOptions {
  // The learning rates are the rooms' (their schema); the step counts are the engine's own, the official
  // projector's 1000 + 300 for a lone run (a room's are fewer: it shares a worker and has a time limit).
  return {
    wSteps: 1000,
    wPlusSteps: 300,
    lr: INVERT_SETTINGS_SCHEMA.lr.default,
    wPlusLr: INVERT_SETTINGS_SCHEMA.wPlusLr.default,
    initialNoiseFactor: 0.05,
    noiseRampLength: 0.75,
    lrRampDown: 0.25,
    lrRampUp: 0.05,
    wAvgSamples: 10_000,
    seed: 123,
    imageEvery: 10,
    loss: 'pixel-multiscale',
    perceptualWeight: 1,
    ptiSteps: 350,
    ptiLr: 3e-4,
    ptiMinPsnr: 40,
  };
}

/**
 * Whether the landmark detector's feature loss suits a model: the detector was trained on the bundled
 * faces model's domain, so the bundled model (whose file predates the `domain` key) and models whose config
 * says domain 'faces'.
 */
export function detectorLossSuits(config: ModelConfig): boolean {
  return config.domain === 'faces' || config.name === FACES128_CONFIG.name;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new InvertInputError(message);
}

export function validateInvertRequest(gen: ImageGenerator, request: InvertRequest): InvertOptions {
  const t = request?.target;
  check(!!t && Number.isInteger(t.width) && Number.isInteger(t.height), 'the target image is missing');
  check(t.width === gen.width && t.height === gen.height, `the target is ${t.width}x${t.height}; the model draws ${gen.width}x${gen.height} (crop and fit it first)`);
  check(!!t.data && t.data.length === t.width * t.height * 4, `the target has ${t.data?.length} bytes, expected ${t.width * t.height * 4} (RGBA)`);
  const o: InvertOptions = {
    ...defaultInvertOptions(),
    ...(request.detector ? { loss: 'pixel-multiscale+detector' as const } : {}),
    ...(request.discriminator ? { loss: 'pixel-multiscale+discriminator' as const } : {}),
    ...(request.lpips ? { loss: 'pixel-multiscale+lpips' as const } : {}),
    ...(request.options ?? {}),
  };
  const int = (v: number, name: string, min: number, max: number) =>
    check(Number.isInteger(v) && v >= min && v <= max, `${name} must be a whole number in [${min}, ${max}], got ${v}`);
  const real = (v: number, name: string, min: number, max: number) =>
    check(Number.isFinite(v) && v >= min && v <= max, `${name} must be a number in [${min}, ${max}], got ${v}`);
  int(o.wSteps, 'wSteps', 0, MAX_INVERT_STEPS);
  int(o.wPlusSteps, 'wPlusSteps', 0, MAX_INVERT_STEPS);
  check(o.wSteps + o.wPlusSteps > 0, 'wSteps and wPlusSteps are both 0: nothing to run');
  real(o.lr, 'lr', 1e-6, 10);
  real(o.wPlusLr, 'wPlusLr', 1e-6, 10);
  real(o.initialNoiseFactor, 'initialNoiseFactor', 0, 10);
  real(o.noiseRampLength, 'noiseRampLength', 1e-6, 1);
  real(o.lrRampDown, 'lrRampDown', 1e-6, 1);
  real(o.lrRampUp, 'lrRampUp', 1e-6, 1);
  int(o.wAvgSamples, 'wAvgSamples', 1, 100_000);
  int(o.seed, 'seed', 0, 2 ** 32 - 1);
  int(o.imageEvery, 'imageEvery', 1, 1_000_000);
  check(LOSSES.includes(o.loss), `unknown loss '${o.loss}'; available: ${LOSSES.join(', ')}`);
  check(o.loss !== 'pixel-multiscale+detector' || !!request.detector, `the loss '${o.loss}' needs the landmark detector in the request`);
  check(o.loss !== 'pixel-multiscale+discriminator' || !!request.discriminator, `the loss '${o.loss}' needs the model's discriminator in the request`);
  check(o.loss !== 'pixel-multiscale+lpips' || !!request.lpips, `the loss '${o.loss}' needs the LPIPS-VGG16 weights in the request`);
  check(o.loss !== 'pixel-multiscale+lpips' || Math.min(gen.width, gen.height) >= LPIPS_MIN_SIDE, `the loss '${o.loss}' needs images at least ${LPIPS_MIN_SIDE} px a side; the model draws ${gen.width}x${gen.height}`);
  const d = request.discriminator;
  if (o.loss === 'pixel-multiscale+discriminator' && d) {
    check(d.resolution === gen.width && d.resolution === gen.height, `the discriminator takes ${d.resolution}x${d.resolution} images; the model draws ${gen.width}x${gen.height}`);
  }
  real(o.perceptualWeight, 'perceptualWeight', 0, 1000);
  int(o.ptiSteps, 'ptiSteps', 0, MAX_INVERT_STEPS);
  real(o.ptiLr, 'ptiLr', 1e-7, 1);
  real(o.ptiMinPsnr, 'ptiMinPsnr', 10, 100);
  const base = request.ptiBase;
  if (base) {
    check(base.config?.architecture === 'stylegan2-ada', `pivotal tuning supports StyleGAN2 models; '${base.config?.name}' is ${base.config?.architecture}`);
    check(JSON.stringify(base.config) === JSON.stringify(gen.config), `the PTI base model '${base.config.name}' is not the model being inverted ('${gen.config.name}')`);
  }
  return o;
}
