/**
 * Random-weight models with a given config, initialised as StyleGAN2-ADA initialises them (buffers the architecture fixes get their fixed values) (weights N(0,1)
 * with runtime gains, affine biases 1, zero biases, noise buffers N(0,1)) from a seeded PRNG. Used by tests
 * and as a stand-in until a trained model exists; never shipped as the default.
 */
import { expectedParams, CONFIG_METADATA_KEY, type ModelConfig } from './config.js';
import { serializeSafetensors, type SafeDtype, type TensorToWrite } from '../io/safetensors.js';
import { numpyRandn } from '../random.js';

export interface RandomModelOptions {
  seed?: number;
  /** Noise strength (StyleGAN2 initialises it to 0; tests use non-zero to exercise the noise path). */
  noiseStrength?: number;
  /** Std-dev of random biases (0 = StyleGAN2's init). */
  biasStd?: number;
  dtype?: SafeDtype;
}

export function randomModelTensors(config: ModelConfig, options: RandomModelOptions = {}): Map<string, TensorToWrite> {
  const seed = options.seed ?? 0;
  const dtype = options.dtype ?? 'F32';
  const tensors = new Map<string, TensorToWrite>();
  let stream = 0;
  const randn = (count: number, scale: number) => Float32Array.from(numpyRandn((seed * 7919 + stream++) >>> 0, count), (v) => v * scale);
  for (const spec of expectedParams(config)) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    switch (spec.kind) {
      case 'weight':
        data = randn(count, spec.name.startsWith('mapping.') ? 1 / config.mapping_lr_multiplier : 1);
        break;
      case 'affine_bias':
        data = Float32Array.from(randn(count, options.biasStd ?? 0), (v) => v + 1);
        break;
      case 'bias':
        data = randn(count, options.biasStd ?? 0);
        break;
      case 'noise_strength':
        data = Float32Array.of(options.noiseStrength ?? 0);
        break;
      case 'w_avg':
        data = new Float32Array(count);
        break;
      case 'buffer':
        data = Float32Array.from(spec.value!);
        break;
      default:
        data = randn(count, 1);
    }
    tensors.set(spec.name, { shape: spec.shape, data, dtype });
  }
  return tensors;
}

export function randomModelBytes(config: ModelConfig, options: RandomModelOptions = {}): Uint8Array {
  return serializeSafetensors(randomModelTensors(config, options), { [CONFIG_METADATA_KEY]: JSON.stringify(config) });
}
