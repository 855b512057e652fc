/**
 * The final denoising of a diffusion drag with mutual self-attention (MasaCtrl), as DragDiffusion runs it:
 * the original latent and the edited one are denoised as one batch of two, and in every self-attention of
 * the transformer layers from `startLayer` on (counted in forward order, DragDiffusion: 10 of SD 1.5's 16,
 * i.e. the later up-block layers; masaStartLayer gives other UNets the same share) both take their keys and
 * values from the original. The edited image so keeps the original's appearance where the drag did not move
 * it. Every step shares (DragDiffusion's start_step 0).
 */
import * as tf from '@tensorflow/tfjs';
import { ddimDenoiseSteps, runDDIMLoop, type DDIMProgress, type DDIMScheduler, type DDIMStep } from './ddim.js';
import type { UNet } from './unet.js';

/** DragDiffusion's start layer as a share of SD 1.5's 16 transformer layers (the layers before it do not share). */
export const MASA_START_SHARE = 10 / 16;

/**
 * The first layer that shares: `masaLayer` where given, else the same share of `layerCount` layers as
 * DragDiffusion's 10 of 16 (a 7-layer UNet shares from layer 4), and at least the last layer. An absolute 10
 * would be past the last layer of a small UNet, and its final denoising would run without the original's keys
 * and values at all.
 */
export function masaStartLayer(layerCount: number, masaLayer?: number): number {
  return masaLayer ?? Math.min(Math.round(layerCount * MASA_START_SHARE), Math.max(0, layerCount - 1));
}

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
 * mutual self-attention, one step per `next()` (see ddim.ts's loops: leaving early frees everything); the
 * loop's result is both clean latents as [2, h, w, c] (the caller owns it).
 */
export function* denoiseMutualSteps(
  unet: UNet,
  scheduler: DDIMScheduler,
  original: tf.Tensor4D,
  edited: tf.Tensor4D,
  context: tf.Tensor3D,
  strength: number,
  startLayer: number,
): Generator<DDIMStep, tf.Tensor4D, undefined> {
  const batch = tf.concat([original, edited]);
  const ctx = tf.tile(context, [2, 1, 1]) as tf.Tensor3D;
  const loop = ddimDenoiseSteps(unet, scheduler, batch, ctx, strength);
  try {
    for (;;) {
      // Mutual attention is on only while a UNet pass runs, so a caller pausing between steps leaves the UNet plain.
      const r = withMutualSelfAttention(unet, startLayer, () => loop.next());
      if (r.done) return r.value;
      yield r.value;
    }
  } finally {
    // Left early: the inner loop frees its partial latent (a finished loop ignores this).
    loop.return(undefined as never);
    tf.dispose([batch, ctx]);
  }
}

/** denoiseMutualSteps run to its end. */
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
  return runDDIMLoop(denoiseMutualSteps(unet, scheduler, original, edited, context, strength, startLayer), onStep);
}
