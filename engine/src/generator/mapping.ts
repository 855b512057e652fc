/**
 * The mapping network z -> w and truncation, shared by every architecture: StyleGAN2-ADA and StyleGAN3 use
 * the same MappingNetwork (normalise z, fully connected layers with leaky ReLU and lr multiplier, w_avg).
 */
import * as tf from '@tensorflow/tfjs';
import type { CommonConfig } from '../model/common-config.js';
import type { ParamSource } from './types.js';
import { Dense } from './stylegan2/layers.js';

export class MappingNetwork {
  private readonly layers: Dense[] = [];
  readonly wAvg: Float32Array;

  constructor(get: ParamSource, config: Pick<CommonConfig, 'mapping_layers' | 'mapping_lr_multiplier'>) {
    for (let i = 0; i < config.mapping_layers; i++) this.layers.push(new Dense(get, `mapping.fc${i}`, config.mapping_lr_multiplier));
    this.wAvg = Float32Array.from(get('mapping.w_avg').data);
  }

  /** z -> w as a [1, w_dim] tensor the caller owns, no truncation. */
  mapTensor(z: Float32Array): tf.Tensor2D {
    return tf.tidy(() => {
      let x: tf.Tensor2D = tf.tensor2d(z, [1, z.length]);
      x = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-8)));
      for (const layer of this.layers) x = tf.mul(tf.leakyRelu(layer.apply(x), 0.2), Math.SQRT2);
      return x;
    });
  }

  /** z -> w, no truncation (a synchronous read: not on backends that only read asynchronously). */
  map(z: Float32Array): Float32Array {
    const w = this.mapTensor(z);
    try {
      return (w.dataSync() as Float32Array).slice();
    } finally {
      w.dispose();
    }
  }

  /** z -> w, read asynchronously (every backend, webgpu included). */
  async mapAsync(z: Float32Array): Promise<Float32Array> {
    const w = this.mapTensor(z);
    try {
      return ((await w.data()) as Float32Array).slice();
    } finally {
      w.dispose();
    }
  }

  /** w+ (numWs rows of w) with truncation psi towards w_avg. */
  broadcast(w: Float32Array, numWs: number, psi: number): Float32Array {
    const wDim = this.wAvg.length;
    const out = new Float32Array(numWs * wDim);
    for (let l = 0; l < numWs; l++) {
      for (let i = 0; i < wDim; i++) out[l * wDim + i] = this.wAvg[i] + psi * (w[i] - this.wAvg[i]);
    }
    return out;
  }

  dispose(): void {
    this.layers.forEach((l) => l.dispose());
  }
}
