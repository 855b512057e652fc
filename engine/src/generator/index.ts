/** Builds the generator for a config, whatever its architecture, and reads features through the interface. */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config.js';
import { StyleGAN2Generator } from './stylegan2/generator.js';
import { StyleGAN3Generator } from './stylegan3/index.js';
import type { ImageGenerator, ParamSource } from './types.js';

export function createGenerator(config: ModelConfig, get: ParamSource): ImageGenerator {
  switch (config.architecture) {
    case 'stylegan2-ada':
      return new StyleGAN2Generator(config, get);
    case 'stylegan3':
      return new StyleGAN3Generator(config, get);
  }
}

/**
 * The features of the given layers (every layer when omitted) and the image for a latent, as NHWC arrays,
 * for tests and tools.
 */
export function readFeatures(
  gen: ImageGenerator,
  latent: Float32Array,
  layers: number[] = gen.featureLayers().map((l) => l.index),
): { features: Map<number, { shape: number[]; data: Float32Array }>; image: { shape: number[]; data: Float32Array } } {
  const features = new Map<number, { shape: number[]; data: Float32Array }>();
  const image = tf.tidy(() => {
    const ws = tf.tensor2d(latent, [gen.numWs, gen.wDim]);
    const state = layers.length
      ? gen.synthesize(ws, Math.max(...layers), undefined, (index, x) => {
          if (layers.includes(index)) features.set(index, { shape: x.shape, data: x.dataSync().slice() as Float32Array });
        })
      : undefined;
    const img = gen.image(ws, state);
    return { shape: img.shape, data: img.dataSync().slice() as Float32Array };
  });
  return { features, image };
}
