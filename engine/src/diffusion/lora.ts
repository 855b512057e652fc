/**
 * LoRA on the UNet's attention projections (to_q, to_k, to_v, to_out.0 of every self- and cross-attention),
 * as DragDiffusion fine-tunes it on the one image being edited so the denoised result keeps its identity.
 * Each adapter is diffusers' LoRALinearLayer: down [in, rank] ~ N(0, 1/rank), up [rank, out] = 0, scale 1,
 * so an untrained LoRA changes nothing. Only the adapters train; the base weights are never variables.
 */
import * as tf from '@tensorflow/tfjs';
import type { DDIMScheduler } from './ddim.js';
import type { Linear } from './layers.js';
import type { LoRAOptions } from './options.js';
import type { UNet } from './unet.js';

let loraCounter = 0;

export interface LoRAAdapterEntry {
  /** diffusers' module name, e.g. down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q */
  name: string;
  linear: Linear;
  down: tf.Variable<tf.Rank.R2>;
  up: tf.Variable<tf.Rank.R2>;
}

/** A small deterministic generator (xorshift32) for the timesteps LoRA training draws. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

export class UNetLoRA {
  readonly adapters: LoRAAdapterEntry[];

  /** Attaches fresh adapters of this rank to every attention projection of the UNet. */
  constructor(
    private readonly unet: UNet,
    readonly rank: number,
    seed = 0,
  ) {
    const id = loraCounter++;
    const projections = unet.transformers().flatMap((t) =>
      [t.block.attn1, t.block.attn2].flatMap((a) => [a.toQ, a.toK, a.toV, a.toOut]),
    );
    this.adapters = projections.map((linear, i) => {
      const down = tf.variable(tf.randomNormal([linear.inDim, rank], 0, 1 / rank, 'float32', seed + i), true, `lora_${id}_${i}_down`) as tf.Variable<tf.Rank.R2>;
      const up = tf.variable(tf.zeros([rank, linear.outDim]), true, `lora_${id}_${i}_up`) as tf.Variable<tf.Rank.R2>;
      if (linear.adapter) throw new Error(`${linear.name} already has a LoRA attached`);
      linear.adapter = { down, up, scale: 1 };
      return { name: linear.name, linear, down, up };
    });
  }

  variables(): tf.Variable[] {
    return this.adapters.flatMap((a) => [a.down, a.up]);
  }

  /** Sets the adapters' weights from diffusers-layout [out, in] matrices (lora.down.weight / lora.up.weight by module name). */
  assign(weights: (name: string, part: 'down' | 'up') => tf.Tensor2D): void {
    for (const a of this.adapters) {
      a.down.assign(tf.tidy(() => tf.transpose(weights(a.name, 'down'))));
      a.up.assign(tf.tidy(() => tf.transpose(weights(a.name, 'up'))));
    }
  }

  /** Removes the adapters from the UNet and frees them. */
  dispose(): void {
    for (const a of this.adapters) {
      if (a.linear.adapter?.down === a.down) a.linear.adapter = undefined;
      tf.dispose([a.down, a.up]);
    }
  }
}

/**
 * The standard denoising loss DragDiffusion trains LoRA with: the clean latent noised to each timestep,
 * mean squared error between the UNet's predicted noise and the noise. latent: [1, h, w, c] (already times
 * the VAE's scaling factor); noise: [B, h, w, c]; timesteps: B integers in [0, trainSteps); context [1, tokens, d].
 */
export function denoisingLoss(unet: UNet, scheduler: DDIMScheduler, latent: tf.Tensor4D, noise: tf.Tensor4D, timesteps: number[], context: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const b = timesteps.length;
    const a = timesteps.map((t) => scheduler.alphasCumprod[t]);
    const sa = tf.tensor4d(a.map(Math.sqrt), [b, 1, 1, 1]);
    const sn = tf.tensor4d(a.map((v) => Math.sqrt(1 - v)), [b, 1, 1, 1]);
    const noisy = tf.add(tf.mul(latent, sa), tf.mul(noise, sn)) as tf.Tensor4D;
    const ctx = tf.tile(context, [b, 1, 1]) as tf.Tensor3D;
    const { noise: pred } = unet.apply(noisy, tf.tensor1d(timesteps, 'float32'), ctx);
    return tf.mean(tf.square(tf.sub(pred, noise))) as tf.Scalar;
  });
}

export interface LoRAProgress {
  step: number;
  steps: number;
  loss: number;
}

/**
 * Trains fresh adapters on one image for options.steps Adam steps (each a batch of random noise at random
 * timesteps, seeded by options.seed) and returns them attached. onStep may return false to stop early
 * (the adapters trained so far stay attached). The caller disposes the returned LoRA.
 */
export async function trainLoRA(
  unet: UNet,
  scheduler: DDIMScheduler,
  latent: tf.Tensor4D,
  context: tf.Tensor3D,
  options: LoRAOptions,
  onStep?: (p: LoRAProgress) => boolean | void | Promise<boolean | void>,
): Promise<UNetLoRA> {
  const lora = new UNetLoRA(unet, options.rank, options.seed);
  const optimizer = tf.train.adam(options.lr, 0.9, 0.999, 1e-8);
  const random = xorshift(options.seed + 1);
  const vars = lora.variables();
  try {
    for (let step = 0; step < options.steps; step++) {
      const timesteps = Array.from({ length: options.batch }, () => Math.floor(random() * scheduler.config.trainSteps));
      const noise = tf.randomNormal([options.batch, latent.shape[1], latent.shape[2], latent.shape[3]], 0, 1, 'float32', options.seed * 7919 + step) as tf.Tensor4D;
      const { value, grads } = tf.variableGrads(() => denoisingLoss(unet, scheduler, latent, noise, timesteps, context), vars);
      optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      const loss = (await value.data())[0];
      tf.dispose([noise, value, ...Object.values(grads)]);
      if ((await onStep?.({ step: step + 1, steps: options.steps, loss })) === false) break;
    }
  } catch (err) {
    lora.dispose();
    throw err;
  } finally {
    optimizer.dispose();
  }
  return lora;
}
