/**
 * The final denoising of a diffusion drag with mutual self-attention (MasaCtrl), as DragDiffusion runs it:
 * the original latent and the edited one are denoised as one batch of two, and in every self-attention of
 * the transformer layers from `startLayer` on (counted in forward order, DragDiffusion: 10 of SD 1.5's 16,
 * i.e. the later up-block layers) both take their keys and values from the original. The edited image so
 * keeps the original's appearance where the drag did not move it. Every step shares (DragDiffusion's
 * start_step 0).
 */
import * as tf from '@tensorflow/tfjs';
import { ddimDenoise, type DDIMProgress, type DDIMScheduler } from './ddim.js';
import type { UNet } from './unet.js';

/** Runs fn with mutual self-attention switched on from startLayer, and off again afterwards. */
export function withMutualSelfAttention<T>(unet: UNet, startLayer: number, fn: () => T): T {
  const layers = unet.transformers().slice(startLayer).map((t) => t.block.attn1);
  for (const a of layers) a.keysValuesFromFirst = true;
  try {
    return fn();
  } finally {
    for (const a of layers) a.keysValuesFromFirst = false;
  }
}

/**
 * Denoises [original; edited] (each [1, h, w, c], at the inverted step of this strength) together with
 * mutual self-attention; returns both clean latents as [2, h, w, c] (the caller owns it).
 */
export function denoiseMutual(
  unet: UNet,
  scheduler: DDIMScheduler,
  original: tf.Tensor4D,
  edited: tf.Tensor4D,
  context: tf.Tensor3D,
  strength: number,
  startLayer: number,
  onStep?: DDIMProgress,
): tf.Tensor4D {
  const batch = tf.concat([original, edited]);
  const ctx = tf.tile(context, [2, 1, 1]) as tf.Tensor3D;
  try {
    return withMutualSelfAttention(unet, startLayer, () => ddimDenoise(unet, scheduler, batch, ctx, strength, onStep));
  } finally {
    tf.dispose([batch, ctx]);
  }
}
