/**
 * Pivotal tuning (Roich et al., 2021): with the pivot latent fixed, Adam fine-tunes the synthesis network's
 * weights (conv and ToRGB weights, their biases, the affine style layers) so the pivot's render matches the
 * target, under the inversion's own reconstruction loss. PTI's locality regularisation (keeping renders of
 * latents around the pivot unchanged) is not applied: a room edits around its pivot, and the tuned weights
 * belong to that room alone. The learning rate is constant, as in the paper (3e-4).
 */
import * as tf from '@tensorflow/tfjs';
import type { RGBAImage } from '../../drag/types.js';
import { imageToRGBA } from '../../generator/rgba.js';
import { TrainableStyleGAN2 } from '../../generator/stylegan2/trainable.js';
import type { StyleGAN2Config } from '../../generator/stylegan2/config.js';
import type { BaseModel } from './base-model.js';
import { compactPtiWeights, PtiWeightsError, type CompactPtiWeights } from './delta.js';

export class PtiTuner {
  private readonly gen: TrainableStyleGAN2;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly ws: tf.Tensor2D;
  private stepsApplied = 0;

  constructor(
    private readonly base: BaseModel,
    private readonly pivot: Float32Array,
    lr: number,
    private readonly loss: (image: tf.Tensor4D) => tf.Scalar,
  ) {
    if (base.config.architecture !== 'stylegan2-ada') throw new PtiWeightsError(`pivotal tuning supports StyleGAN2 models; '${base.config.name}' is ${base.config.architecture}`);
    this.gen = new TrainableStyleGAN2(base.config as StyleGAN2Config, base.get);
    this.ws = tf.tensor2d(pivot, [this.gen.numWs, this.gen.wDim]);
    this.optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  }

  get steps(): number {
    return this.stepsApplied;
  }

  /** One Adam step on the weights; returns the loss before the step. */
  step(): number {
    const { value, grads } = tf.variableGrads(() => this.loss(this.gen.image(this.ws)), this.gen.variables());
    try {
      const loss = value.dataSync()[0];
      if (!Number.isFinite(loss)) throw new Error(`the PTI loss is ${loss}`);
      this.optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      this.stepsApplied++;
      return loss;
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  }

  /** The pivot rendered with the current weights. */
  render(): RGBAImage {
    const img = tf.tidy(() => this.gen.image(this.ws));
    try {
      return imageToRGBA(img);
    } finally {
      img.dispose();
    }
  }

  /** The current weights as the room's compact delta from the base model. */
  compact(minPsnr?: number): CompactPtiWeights {
    return compactPtiWeights(this.base, this.gen.readTuned(), this.pivot, minPsnr);
  }

  dispose(): void {
    this.gen.dispose();
    this.optimizer.dispose();
    this.ws.dispose();
  }
}
