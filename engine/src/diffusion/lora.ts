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
      const init = [tf.randomNormal([linear.inDim, rank], 0, 1 / rank, 'float32', seed + i), tf.zeros([rank, linear.outDim])];
      const down = tf.variable(init[0], true, `lora_${id}_${i}_down`) as tf.Variable<tf.Rank.R2>;
      const up = tf.variable(init[1], true, `lora_${id}_${i}_up`) as tf.Variable<tf.Rank.R2>;
      tf.dispose(init);
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
 * Trains fresh adapters on one image, one Adam step at a time (each a batch of random noise at random
 * timesteps, seeded by options.seed), so a caller can report progress and stop between steps. The adapters
 * stay attached to the UNet until the LoRA is disposed.
 */
export class LoRATrainer {
  readonly lora: UNetLoRA;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly random: () => number;
  private steps = 0;

  constructor(
    private readonly unet: UNet,
    private readonly scheduler: DDIMScheduler,
    private readonly latent: tf.Tensor4D,
    private readonly context: tf.Tensor3D,
    private readonly options: LoRAOptions,
  ) {
    this.lora = new UNetLoRA(unet, options.rank, options.seed);
    this.optimizer = tf.train.adam(options.lr, 0.9, 0.999, 1e-8);
    this.random = xorshift(options.seed + 1);
  }

  /** One training step; returns its loss. */
  async step(): Promise<number> {
    const { batch, seed } = this.options;
    const timesteps = Array.from({ length: batch }, () => Math.floor(this.random() * this.scheduler.config.trainSteps));
    const [, h, w, c] = this.latent.shape;
    const noise = tf.randomNormal([batch, h, w, c], 0, 1, 'float32', seed * 7919 + this.steps) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() => denoisingLoss(this.unet, this.scheduler, this.latent, noise, timesteps, this.context), this.lora.variables());
    this.optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    this.steps++;
    const loss = (await value.data())[0];
    tf.dispose([noise, value, ...Object.values(grads)]);
    return loss;
  }

  /** Frees the optimizer's state; the LoRA stays attached (dispose it separately). */
  finish(): UNetLoRA {
    this.optimizer.dispose();
    return this.lora;
  }
}

/**
 * Trains fresh adapters for options.steps steps and returns them attached. onStep may return false to stop
 * early (the adapters trained so far stay attached). The caller disposes the returned LoRA.
 */
export async function trainLoRA(
  unet: UNet,
  scheduler: DDIMScheduler,
  latent: tf.Tensor4D,
  context: tf.Tensor3D,
  options: LoRAOptions,
  onStep?: (p: LoRAProgress) => boolean | void | Promise<boolean | void>,
): Promise<UNetLoRA> {
  const trainer = new LoRATrainer(unet, scheduler, latent, context, options);
  try {
    for (let step = 0; step < options.steps; step++) {
      const loss = await trainer.step();
      if ((await onStep?.({ step: step + 1, steps: options.steps, loss })) === false) break;
    }
  } catch (err) {
    trainer.finish().dispose();
    throw err;
  }
  return trainer.finish();
}
