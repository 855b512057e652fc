/**
 * A perceptual loss from the model's own discriminator (discriminator.ts): LPIPS's recipe without learned
 * weights, as the detector loss (perceptual.ts) and the benchmark's DFD build it. For each D block whose
 * output is at least max(8, R/32) pixels a side (R the image size: the fine-to-middle scales, as LPIPS's VGG
 * layers reach 1/16), features unit-normalised over channels per cell, squared difference summed over
 * channels and averaged over cells; the blocks summed. D was trained on the generator's own domain, so
 * this suits any imported official checkpoint, faces or not.
 */
import * as tf from '@tensorflow/tfjs';
import type { StyleGAN2Discriminator } from './discriminator.js';

/** How many of D's blocks the loss uses for a discriminator of resolution R. */
export function discriminatorLossBlocks(resolution: number): number {
  const minSide = Math.max(8, resolution / 32);
  let count = 0;
  for (let side = resolution / 2; side >= minSide; side /= 2) count++;
  return Math.max(1, count);
}

export class DiscriminatorFeatureLoss {
  private readonly targetFeatures: tf.Tensor4D[];
  private readonly blocks: number;

  constructor(
    private readonly d: StyleGAN2Discriminator,
    target: tf.Tensor4D,
  ) {
    this.blocks = discriminatorLossBlocks(d.resolution);
    this.targetFeatures = tf.tidy(() => this.features(target).map((f) => tf.keep(f)));
  }

  private features(image: tf.Tensor4D): tf.Tensor4D[] {
    return this.d.features(image, this.blocks).map((f) => tf.div(f, tf.add(tf.sqrt(tf.sum(tf.square(f), 3, true)), 1e-10)) as tf.Tensor4D);
  }

  loss(image: tf.Tensor4D): tf.Scalar {
    let total: tf.Scalar | undefined;
    this.features(image).forEach((f, i) => {
      const term = tf.mean(tf.sum(tf.squaredDifference(f, this.targetFeatures[i]), 3)) as tf.Scalar;
      total = total ? (tf.add(total, term) as tf.Scalar) : term;
    });
    return total!;
  }

  dispose(): void {
    tf.dispose(this.targetFeatures);
  }
}
