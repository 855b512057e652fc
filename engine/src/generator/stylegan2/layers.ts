/**
 * The generator's layers prepared for tfjs: weights are converted once from the PyTorch state-dict layout
 * (NCHW, [out, in, kh, kw]) into tfjs layout (NHWC, [kh, kw, in, out]) with StyleGAN2's equalised-learning-
 * rate gains folded in, so a forward pass does no re-layout work.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dConst, makeConstFilter, type ConstFilter } from '../../ops/conv.js';
import { upsampleFir } from '../../ops/upsample.js';
import type { ParamSource } from '../types.js';
import { blockSize, type StyleGAN2Config } from './config.js';

const SQRT2 = Math.SQRT2;

/** [out, in] PyTorch weight -> [in, out] tfjs matrix times gain. */
function linearWeight(src: { shape: number[]; data: Float32Array }, gain: number): tf.Tensor2D {
  const [out, inF] = src.shape;
  const t = new Float32Array(out * inF);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) t[i * out + o] = src.data[o * inF + i] * gain;
  return tf.tensor2d(t, [inF, out]);
}

function scaled(src: { shape: number[]; data: Float32Array }, gain: number): tf.Tensor1D {
  return tf.tensor1d(src.data.map((v) => v * gain));
}

/** Fully connected layer y = x @ W + b with gains folded in. */
export class Dense {
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
  constructor(get: ParamSource, prefix: string, lrMul: number, extraGain = 1) {
    const w = get(`${prefix}.weight`);
    this.weight = linearWeight(w, (lrMul / Math.sqrt(w.shape[1])) * extraGain);
    this.bias = scaled(get(`${prefix}.bias`), lrMul * extraGain);
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.weight), this.bias);
  }
  dispose(): void {
    tf.dispose([this.weight, this.bias]);
  }
}

/** A modulated, demodulated 3x3 convolution with noise, bias, leaky ReLU and clamp (StyleGAN2 SynthesisLayer). */
export class SynthesisLayer {
  readonly affine: Dense;
  readonly filter: ConstFilter;
  /** [in, out]: sum over the kernel of weight^2, for the demodulation coefficients. */
  readonly weightSq: tf.Tensor2D;
  /** [1, h, w, 1]: noise_const * noise_strength. */
  readonly noise: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
  readonly inChannels: number;
  readonly outChannels: number;

  constructor(
    get: ParamSource,
    prefix: string,
    size: { height: number; width: number },
    readonly up: boolean,
    private readonly clamp: number | null,
  ) {
    this.affine = new Dense(get, `${prefix}.affine`, 1);
    const w = get(`${prefix}.weight`);
    const [out, inC, kh, kw] = w.shape;
    this.inChannels = inC;
    this.outChannels = out;
    const f = new Float32Array(kh * kw * inC * out);
    const sq = new Float32Array(inC * out);
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inC; i++) {
        for (let y = 0; y < kh; y++) {
          for (let x = 0; x < kw; x++) {
            const v = w.data[((o * inC + i) * kh + y) * kw + x];
            // StyleGAN2-ADA flips the kernel of up-sampling layers (flip_weight = (up == 1)).
            const fy = up ? kh - 1 - y : y;
            const fx = up ? kw - 1 - x : x;
            f[((fy * kw + fx) * inC + i) * out + o] = v;
            sq[i * out + o] += v * v;
          }
        }
      }
    }
    this.filter = makeConstFilter(tf.tensor4d(f, [kh, kw, inC, out]));
    this.weightSq = tf.tensor2d(sq, [inC, out]);
    const noise = get(`${prefix}.noise_const`);
    const strength = get(`${prefix}.noise_strength`).data[0];
    this.noise = tf.tensor4d(noise.data.map((v) => v * strength), [1, size.height, size.width, 1]);
    this.bias = tf.tensor1d(get(`${prefix}.bias`).data);
  }

  apply(x: tf.Tensor4D, w: tf.Tensor2D): tf.Tensor4D {
    const styles = this.affine.apply(w); // [1, in]
    let h = tf.mul(x, tf.reshape(styles, [1, 1, 1, this.inChannels])) as tf.Tensor4D;
    h = this.up ? conv2dConst(upsampleFir(h, true), this.filter, 'valid') : conv2dConst(h, this.filter, 'same');
    const dcoefs = tf.rsqrt(tf.add(tf.matMul(tf.square(styles), this.weightSq), 1e-8));
    h = tf.add(tf.mul(h, tf.reshape(dcoefs, [1, 1, 1, this.outChannels])), this.noise);
    h = tf.mul(tf.leakyRelu(tf.add(h, this.bias), 0.2), SQRT2);
    return this.clamp === null ? h : tf.clipByValue(h, -this.clamp, this.clamp);
  }

  dispose(): void {
    this.affine.dispose();
    tf.dispose([this.filter.forward, this.filter.backward, this.weightSq, this.noise, this.bias]);
  }
}

/** Modulated 1x1 convolution to RGB without demodulation (StyleGAN2 ToRGBLayer). */
export class ToRGB {
  readonly affine: Dense;
  /** [in, 3] */
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
  readonly inChannels: number;

  constructor(get: ParamSource, prefix: string, private readonly clamp: number | null) {
    const w = get(`${prefix}.weight`);
    const [out, inC] = w.shape;
    this.inChannels = inC;
    // weight_gain = 1/sqrt(in) scales the styles; folding it into the affine is the same product.
    this.affine = new Dense(get, `${prefix}.affine`, 1, 1 / Math.sqrt(inC));
    this.weight = linearWeight({ shape: [out, inC], data: w.data }, 1);
    this.bias = tf.tensor1d(get(`${prefix}.bias`).data);
  }

  apply(x: tf.Tensor4D, w: tf.Tensor2D): tf.Tensor4D {
    const [n, h, wd] = x.shape;
    const styles = this.affine.apply(w);
    const modulated = tf.reshape(tf.mul(x, tf.reshape(styles, [1, 1, 1, this.inChannels])), [n * h * wd, this.inChannels]);
    const y = tf.reshape(tf.add(tf.matMul(modulated, this.weight), this.bias), [n, h, wd, 3]) as tf.Tensor4D;
    return this.clamp === null ? y : tf.clipByValue(y, -this.clamp, this.clamp);
  }

  dispose(): void {
    this.affine.dispose();
    tf.dispose([this.weight, this.bias]);
  }
}

export interface BlockLayers {
  resolution: number;
  conv0?: SynthesisLayer;
  conv1: SynthesisLayer;
  torgb: ToRGB;
  /** Index of the first style vector this block consumes. */
  wsIndex: number;
}

export function buildBlock(get: ParamSource, config: StyleGAN2Config, res: number, wsIndex: number): BlockLayers {
  const b = `synthesis.b${res}`;
  const size = blockSize(config, res);
  return {
    resolution: res,
    conv0: res > 4 ? new SynthesisLayer(get, `${b}.conv0`, size, true, config.conv_clamp) : undefined,
    conv1: new SynthesisLayer(get, `${b}.conv1`, size, false, config.conv_clamp),
    torgb: new ToRGB(get, `${b}.torgb`, config.conv_clamp),
    wsIndex,
  };
}
