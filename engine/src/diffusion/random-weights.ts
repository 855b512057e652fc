/**
 * Models of any supported config with seeded random weights, for speed measurements at sizes no checkpoint
 * here has (SD 1.5's widths, candidate sizes for a bundled model). Uniform in +-1/sqrt(fan-in) like torch's
 * default init; norms start at weight 1, bias 0. Their outputs mean nothing.
 */
import type { SafeTensor } from '../io/safetensors.js';
import { ClipTextEncoder, type TextEncoderConfig } from './text-encoder.js';
import { UNet } from './unet.js';
import type { UNetConfig } from './unet-config.js';
import { VAE } from './vae.js';
import type { VAEConfig } from './vae-config.js';
import { Weights } from './weights.js';

class RandomWeights extends Weights {
  private state: number;
  constructor(seed: number) {
    super(new Map(), 'random weights');
    this.state = (seed >>> 0) || 1;
  }

  override has(): boolean {
    return true;
  }

  override raw(name: string, shape: number[]): SafeTensor {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    if (shape.length === 1) {
      if (name.endsWith('.weight')) data.fill(1);
    } else {
      const bound = 1 / Math.sqrt(count / shape[0]);
      let s = this.state;
      for (let i = 0; i < count; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        data[i] = ((s >>> 0) / 0xffffffff - 0.5) * 2 * bound;
      }
      this.state = s;
    }
    return { dtype: 'F32', shape, data };
  }
}

/** A UNet of this config with seeded random weights. */
export function randomUNet(config: UNetConfig, seed = 1): UNet {
  return new UNet(config, new RandomWeights(seed));
}

export function randomVAE(config: VAEConfig, seed = 2): VAE {
  return new VAE(config, new RandomWeights(seed));
}

export function randomTextEncoder(config: TextEncoderConfig, seed = 3): ClipTextEncoder {
  return new ClipTextEncoder(config, new RandomWeights(seed));
}
