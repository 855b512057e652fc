/**
 * StyleGAN2 (StyleGAN2-ADA architecture, skip generator) in TensorFlow.js: mapping and synthesis with any
 * block's features tappable. docs/model-format.md is the specification; tests/engine/parity.test.ts proves
 * it against PyTorch outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { blockResolutions, firstWsIndex, numWs, type ModelConfig } from '../model/config.js';
import { numpyRandn } from '../random.js';
import { upsampleFir } from '../ops/upsample.js';
import { buildBlock, Dense, type BlockLayers, type ParamSource } from './layers.js';
import type { RGBAImage } from '../drag/types.js';

const SQRT2 = Math.SQRT2;

/** The synthesis state between blocks: block features and the accumulated skip image (NHWC). */
export interface SynthesisState {
  x: tf.Tensor4D;
  img: tf.Tensor4D;
  resolution: number;
}

export class Generator {
  readonly config: ModelConfig;
  readonly resolution: number;
  readonly numWs: number;
  readonly wDim: number;
  private readonly mappingLayers: Dense[];
  private readonly wAvg: Float32Array;
  private readonly constInput: tf.Tensor4D;
  private readonly blocks: BlockLayers[];
  private disposed = false;

  constructor(config: ModelConfig, get: ParamSource) {
    this.config = config;
    this.resolution = config.img_resolution;
    this.numWs = numWs(config);
    this.wDim = config.w_dim;
    this.mappingLayers = [];
    for (let i = 0; i < config.mapping_layers; i++) {
      this.mappingLayers.push(new Dense(get, `mapping.fc${i}`, config.mapping_lr_multiplier));
    }
    this.wAvg = Float32Array.from(get('mapping.w_avg').data);
    const c = get('synthesis.b4.const');
    const ch = c.shape[0];
    const nhwc = new Float32Array(16 * ch);
    for (let k = 0; k < ch; k++) for (let p = 0; p < 16; p++) nhwc[p * ch + k] = c.data[k * 16 + p];
    this.constInput = tf.tensor4d(nhwc, [1, 4, 4, ch]);
    this.blocks = blockResolutions(config).map((r) => buildBlock(get, config, r, firstWsIndex(r)));
  }

  /** z (z_dim values) -> w (w_dim values), no truncation. */
  mapping(z: Float32Array): Float32Array {
    this.assertAlive();
    return tf.tidy(() => {
      let x: tf.Tensor2D = tf.tensor2d(z, [1, z.length]);
      x = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-8)));
      for (const layer of this.mappingLayers) x = tf.mul(tf.leakyRelu(layer.apply(x), 0.2), SQRT2);
      return x.dataSync() as Float32Array;
    }).slice();
  }

  /** A w+ latent (numWs x wDim, row-major) from w with truncation psi. */
  broadcast(w: Float32Array, psi = 1): Float32Array {
    const out = new Float32Array(this.numWs * this.wDim);
    for (let l = 0; l < this.numWs; l++) {
      for (let i = 0; i < this.wDim; i++) out[l * this.wDim + i] = this.wAvg[i] + psi * (w[i] - this.wAvg[i]);
    }
    return out;
  }

  /** The latent of a seed: numpy RandomState(seed).randn(z_dim) -> mapping -> truncation -> broadcast. */
  latentFromSeed(seed: number, psi = this.config.truncation_psi): Float32Array {
    const z = Float32Array.from(numpyRandn(seed, this.config.z_dim));
    return this.broadcast(this.mapping(z), psi);
  }

  blockResolutions(): number[] {
    return this.blocks.map((b) => b.resolution);
  }

  /**
   * Runs synthesis blocks from `state` (or from the const input) up to and including block `untilRes`.
   * `ws` is [numWs, wDim]. `tap` sees every block's features. Tensors are owned by the caller's tidy scope.
   */
  synthesize(ws: tf.Tensor2D, untilRes = this.resolution, state?: SynthesisState, tap?: (res: number, x: tf.Tensor4D) => void): SynthesisState {
    this.assertAlive();
    let x = state?.x;
    let img = state?.img;
    let res = state?.resolution ?? 0;
    const style = (i: number) => tf.slice(ws, [i, 0], [1, this.wDim]) as tf.Tensor2D;
    for (const block of this.blocks) {
      if (block.resolution <= res || block.resolution > untilRes) continue;
      let i = block.wsIndex;
      let h: tf.Tensor4D;
      if (block.conv0) {
        h = block.conv0.apply(x!, style(i++));
        h = block.conv1.apply(h, style(i++));
      } else {
        h = block.conv1.apply(this.constInput, style(i++));
      }
      const rgb = block.torgb.apply(h, style(i));
      // Skip architecture: the image so far is upsampled and this block's RGB added.
      img = img ? (tf.add(upsampleFir(img, false), rgb) as tf.Tensor4D) : rgb;
      x = h;
      res = block.resolution;
      tap?.(res, h);
    }
    return { x: x!, img: img!, resolution: res };
  }

  /** Renders a latent to RGBA bytes. */
  render(latent: Float32Array): RGBAImage {
    const img = tf.tidy(() => this.synthesize(tf.tensor2d(latent, [this.numWs, this.wDim])).img);
    const out = imageToRGBA(img);
    img.dispose();
    return out;
  }

  /** Features of the given blocks and the image for a latent, as NHWC arrays (for tests and tools). */
  features(latent: Float32Array): { features: Map<number, { shape: number[]; data: Float32Array }>; image: Float32Array } {
    const features = new Map<number, { shape: number[]; data: Float32Array }>();
    const image = tf.tidy(() => {
      const s = this.synthesize(tf.tensor2d(latent, [this.numWs, this.wDim]), this.resolution, undefined, (res, x) => {
        features.set(res, { shape: x.shape, data: x.dataSync() as Float32Array });
      });
      return s.img.dataSync() as Float32Array;
    });
    return { features, image };
  }

  checkLatent(latent: Float32Array): string | undefined {
    if (!(latent instanceof Float32Array)) return 'latent must be a Float32Array';
    if (latent.length !== this.numWs * this.wDim) {
      return `latent has ${latent.length} values, expected ${this.numWs} x ${this.wDim} = ${this.numWs * this.wDim}`;
    }
    for (let i = 0; i < latent.length; i++) if (!Number.isFinite(latent[i])) return `latent value ${i} is not finite`;
    return undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.mappingLayers.forEach((l) => l.dispose());
    this.constInput.dispose();
    for (const b of this.blocks) {
      b.conv0?.dispose();
      b.conv1.dispose();
      b.torgb.dispose();
    }
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error('generator used after dispose()');
  }
}

/** [1, H, W, 3] in about [-1, 1] -> RGBA bytes, rounding as StyleGAN2's scripts do (x * 127.5 + 128, truncated). */
export function imageToRGBA(img: tf.Tensor4D): RGBAImage {
  const [, h, w] = img.shape;
  const src = img.dataSync();
  const data = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.trunc(Math.min(255, Math.max(0, src[p * 3 + c] * 127.5 + 128)));
    data[p * 4 + 3] = 255;
  }
  return { width: w, height: h, data };
}
