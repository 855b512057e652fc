/**
 * The DDIM scheduler (eta = 0) as diffusers' DDIMScheduler computes it, and DDIM inversion as DragDiffusion
 * does it (its pipeline's inv_step: the noise predicted at the later timestep carries the latent up to it).
 * Settings come from scheduler/scheduler_config.json; SD 1.5's are the defaults.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConfigReader } from './config-reader.js';
import { DiffusionInputError } from './errors.js';
import type { UNet } from './unet.js';

export interface DDIMConfig {
  trainSteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: 'scaled_linear' | 'linear';
  /** Added to every timestep ("leading" spacing): 1 for SD 1.5, so 50 steps run 981, 961, ..., 1. */
  stepsOffset: number;
  /** The alpha-bar used past the last step: 1, or the first training step's (SD 1.5). */
  setAlphaToOne: boolean;
}

export const SD15_DDIM: DDIMConfig = {
  trainSteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  stepsOffset: 1,
  setAlphaToOne: false,
};

export const MAX_DDIM_STEPS = 1000;

export function readDDIMConfig(r: ConfigReader): DDIMConfig {
  r.requireDefaults({
    prediction_type: { value: 'epsilon', reason: "v-prediction (SD 2.x's 768 px models)" },
    clip_sample: { value: false, reason: 'clipping the predicted sample' },
    thresholding: { value: false, reason: 'dynamic thresholding' },
    timestep_spacing: { value: 'leading', reason: 'another timestep spacing' },
    rescale_betas_zero_snr: { value: false, reason: 'zero-terminal-SNR betas' },
    trained_betas: { value: null, reason: 'an explicit beta table' },
  });
  const config: DDIMConfig = {
    trainSteps: r.int('num_train_timesteps', 2, 100_000, SD15_DDIM.trainSteps),
    betaStart: r.number('beta_start', 1e-8, 0.5, SD15_DDIM.betaStart),
    betaEnd: r.number('beta_end', 1e-8, 0.999, SD15_DDIM.betaEnd),
    betaSchedule: r.oneOf('beta_schedule', ['scaled_linear', 'linear'] as const, SD15_DDIM.betaSchedule),
    stepsOffset: r.int('steps_offset', 0, 1000, SD15_DDIM.stepsOffset),
    setAlphaToOne: r.bool('set_alpha_to_one', SD15_DDIM.setAlphaToOne),
  };
  if (config.betaEnd < config.betaStart) throw r.error(`beta_end ${config.betaEnd} is below beta_start ${config.betaStart}`);
  return config;
}

export class DDIMScheduler {
  readonly alphasCumprod: Float64Array;
  /** The denoising timesteps, highest first. */
  readonly timesteps: number[];
  readonly stepRatio: number;
  private readonly finalAlpha: number;

  constructor(
    readonly steps: number,
    readonly config: DDIMConfig = SD15_DDIM,
  ) {
    if (!Number.isInteger(steps) || steps < 1 || steps > Math.min(MAX_DDIM_STEPS, config.trainSteps)) {
      throw new DiffusionInputError(`DDIM steps must be an integer in [1, ${Math.min(MAX_DDIM_STEPS, config.trainSteps)}] (got ${steps})`);
    }
    const n = config.trainSteps;
    this.alphasCumprod = new Float64Array(n);
    let prod = 1;
    for (let i = 0; i < n; i++) {
      const f = n === 1 ? 0 : i / (n - 1);
      const beta =
        config.betaSchedule === 'scaled_linear'
          ? (Math.sqrt(config.betaStart) + f * (Math.sqrt(config.betaEnd) - Math.sqrt(config.betaStart))) ** 2
          : config.betaStart + f * (config.betaEnd - config.betaStart);
      prod *= 1 - beta;
      this.alphasCumprod[i] = prod;
    }
    this.finalAlpha = config.setAlphaToOne ? 1 : this.alphasCumprod[0];
    this.stepRatio = Math.floor(n / steps);
    this.timesteps = Array.from({ length: steps }, (_, i) => (steps - 1 - i) * this.stepRatio + config.stepsOffset);
    if (this.timesteps[0] >= n) throw new DiffusionInputError(`steps_offset ${config.stepsOffset} puts the first timestep past ${n - 1}`);
  }

  /** Alpha-bar at a timestep; below 0 it is the value past the last step. */
  alphaAt(t: number): number {
    return t >= 0 ? this.alphasCumprod[t] : this.finalAlpha;
  }

  /** How many of the steps an inversion strength covers (DragDiffusion: int(steps * strength)). */
  stepsFor(strength: number): number {
    if (!(strength > 0 && strength <= 1)) throw new DiffusionInputError(`inversion strength must be in (0, 1] (got ${strength})`);
    return Math.max(1, Math.floor(this.steps * strength + 1e-9));
  }

  /** x at t -> x at t - ratio, from the noise the UNet predicted at t (diffusers' step, eta = 0). */
  step(noise: tf.Tensor4D, t: number, x: tf.Tensor4D): tf.Tensor4D {
    return this.move(noise, x, this.alphaAt(t), this.alphaAt(t - this.stepRatio));
  }

  /** x at t - ratio -> x at t, from the noise the UNet predicted at t (DragDiffusion's inv_step). */
  invertStep(noise: tf.Tensor4D, t: number, x: tf.Tensor4D): tf.Tensor4D {
    return this.move(noise, x, this.alphaAt(Math.min(t - this.stepRatio, this.config.trainSteps - 1)), this.alphaAt(t));
  }

  /** Predicted x0 from x at alpha-bar `from`, re-noised with the same noise to alpha-bar `to`. */
  private move(noise: tf.Tensor4D, x: tf.Tensor4D, from: number, to: number): tf.Tensor4D {
    return tf.tidy(() => {
      const x0 = tf.div(tf.sub(x, tf.mul(noise, Math.sqrt(1 - from))), Math.sqrt(from));
      return tf.add(tf.mul(x0, Math.sqrt(to)), tf.mul(noise, Math.sqrt(1 - to)));
    });
  }
}

/** Called with each new latent and its timestep; the callee must not dispose it. */
export type DDIMProgress = (latent: tf.Tensor4D, t: number, index: number) => void;

/** One step of a DDIM loop: the new latent (owned by the loop: clone it to keep it), its timestep, its index. */
export interface DDIMStep {
  latent: tf.Tensor4D;
  t: number;
  index: number;
}

/**
 * A DDIM loop one UNet pass per `next()`, so a caller can stop between steps (an abort, a time limit) and give
 * its event loop a turn: leaving the loop early (`return()`, or a `for` broken out of) frees the partial latent.
 * Returns the final latent, which the caller then owns.
 */
function* ddimLoop(
  unet: UNet, timesteps: readonly number[], latent: tf.Tensor4D, context: tf.Tensor3D,
  move: (noise: tf.Tensor4D, t: number, x: tf.Tensor4D) => tf.Tensor4D,
): Generator<DDIMStep, tf.Tensor4D, undefined> {
  let x = tf.clone(latent);
  let done = false;
  try {
    for (let i = 0; i < timesteps.length; i++) {
      const t = timesteps[i];
      const next = tf.tidy(() => {
        const { noise } = unet.apply(x, tf.fill([x.shape[0]], t) as tf.Tensor1D, context);
        return move(noise, t, x);
      });
      x.dispose();
      x = next;
      yield { latent: x, t, index: i };
    }
    done = true;
    return x;
  } finally {
    if (!done) x.dispose();
  }
}

/** Runs a DDIM loop to its end, reporting each step (the synchronous form of the loops below). */
export function runDDIMLoop(loop: Generator<DDIMStep, tf.Tensor4D, undefined>, onStep?: DDIMProgress): tf.Tensor4D {
  for (;;) {
    const r = loop.next();
    if (r.done) return r.value;
    onStep?.(r.value.latent, r.value.t, r.value.index);
  }
}

/** The timesteps DDIM inversion of this strength climbs through, lowest first. */
export function inversionTimesteps(scheduler: DDIMScheduler, strength: number): number[] {
  return [...scheduler.timesteps].reverse().slice(0, scheduler.stepsFor(strength));
}

/** DDIM inversion step by step (see ddimInvert); the loop's result is the latent at the last of inversionTimesteps. */
export function ddimInvertSteps(unet: UNet, scheduler: DDIMScheduler, latent: tf.Tensor4D, context: tf.Tensor3D, strength: number): Generator<DDIMStep, tf.Tensor4D, undefined> {
  return ddimLoop(unet, inversionTimesteps(scheduler, strength), latent, context, (noise, t, x) => scheduler.invertStep(noise, t, x));
}

/** DDIM denoising step by step (see ddimDenoise). */
export function ddimDenoiseSteps(unet: UNet, scheduler: DDIMScheduler, latent: tf.Tensor4D, context: tf.Tensor3D, strength: number): Generator<DDIMStep, tf.Tensor4D, undefined> {
  const count = scheduler.stepsFor(strength);
  return ddimLoop(unet, scheduler.timesteps.slice(scheduler.steps - count), latent, context, (noise, t, x) => scheduler.step(noise, t, x));
}

/**
 * Inverts a clean latent (the VAE mean times its scaling factor) up through the first stepsFor(strength)
 * timesteps; returns the latent at the last one and that timestep. The caller owns the result.
 */
export function ddimInvert(unet: UNet, scheduler: DDIMScheduler, latent: tf.Tensor4D, context: tf.Tensor3D, strength: number, onStep?: DDIMProgress): { latent: tf.Tensor4D; t: number } {
  const x = runDDIMLoop(ddimInvertSteps(unet, scheduler, latent, context, strength), onStep);
  return { latent: x, t: inversionTimesteps(scheduler, strength).at(-1)! };
}

/** Denoises a latent inverted with this strength back to a clean latent (the caller owns it). */
export function ddimDenoise(unet: UNet, scheduler: DDIMScheduler, latent: tf.Tensor4D, context: tf.Tensor3D, strength: number, onStep?: DDIMProgress): tf.Tensor4D {
  return runDDIMLoop(ddimDenoiseSteps(unet, scheduler, latent, context, strength), onStep);
}
