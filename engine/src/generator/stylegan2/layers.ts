/**
 * The generator's layers prepared for tfjs: weights are converted once from the PyTorch state-dict layout
 * (NCHW, [out, in, kh, kw]) into tfjs layout (NHWC, [kh, kw, in, out]) with StyleGAN2's equalised-learning-
 * rate gains folded in, so a forward pass does no re-layout work.
 *
 * Each synthesis layer and ToRGB is one custom-gradient op with its backward pass written out. tfjs would
 * otherwise tape every elementwise op and keep a copy of each op's inputs (the wasm backend's clone copies)
 * until the step's backward pass, about ten activation-sized tensors per layer; here a layer keeps its
 * input and its convolution output, and the forward pass frees its intermediates as it goes (which is what
 * lets a 1024 px image render inside the wasm heap). Drags only need gradients with respect to the input
 * and the styles: the weights are constants.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dConstForward, conv2dConstInputGrad, disposeConstFilter, makeConstFilter, type ConstFilter } from '../../ops/conv.js';
import { upsampleFirAdjoint, upsampleFirForward } from '../../ops/upsample.js';
import type { ParamSource } from '../types.js';
import { blockSize, type StyleGAN2Config } from './config.js';
import { binaryCustomGrad } from '../../ops/custom-grad.js';

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

/** Applies `steps` in order, disposing each intermediate (never the input) once the next exists. */
function chain(x: tf.Tensor4D, steps: Array<(t: tf.Tensor4D) => tf.Tensor>): tf.Tensor4D {
  let cur = x;
  for (const step of steps) {
    const next = tf.tidy(() => step(cur)) as tf.Tensor4D;
    if (cur !== x) cur.dispose();
    cur = next;
  }
  return cur;
}

/**
 * [1, C]: the sum over batch and pixels of t [n, h, w, C], as one GEMM with a row of ones (tfjs's wasm Sum
 * over leading axes transposes first and takes ~200 ms on a 128x128x256 map).
 */
function sumOverPixels(t: tf.Tensor): tf.Tensor2D {
  const c = t.shape[t.rank - 1];
  const rows = t.size / c;
  return tf.matMul(tf.ones([1, rows]), tf.reshape(t, [rows, c]));
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
    return binaryCustomGrad<tf.Tensor4D>(x, styles, (xIn, sIn, save) => {
      const input = xIn as tf.Tensor4D;
      const s = sIn as tf.Tensor2D;
      const h = tf.tidy(() => this.conv(tf.mul(input, tf.reshape(s, [1, 1, 1, this.inChannels])) as tf.Tensor4D));
      // The elementwise chain frees each intermediate as it goes (activation-sized, i.e. up to 128 MB at
      // 1024 px); nothing in it is needed by the backward pass, which recomputes from h.
      const y = chain(h, [
        (t) => tf.mul(t, tf.reshape(this.dcoefs(s), [1, 1, 1, this.outChannels])),
        (t) => tf.add(t, this.noise),
        (t) => tf.add(t, this.bias),
        (t) => tf.leakyRelu(t, 0.2),
        (t) => tf.mul(t, SQRT2),
        ...(this.clamp === null ? [] : [(t: tf.Tensor4D) => tf.clipByValue(t, -this.clamp!, this.clamp!)]),
      ]);
      save([input, s, h]);
      return { value: y, gradFunc: (dy, saved) => this.backward(dy as tf.Tensor4D, saved as [tf.Tensor4D, tf.Tensor2D, tf.Tensor4D]) };
    });
  }

  private conv(xs: tf.Tensor4D): tf.Tensor4D {
    return this.up ? conv2dConstForward(upsampleFirForward(xs, true), this.filter, 'valid') : conv2dConstForward(xs, this.filter, 'same');
  }

  /** [1, out]: 1 / sqrt(sum over in and kernel of (style * weight)^2). */
  private dcoefs(s: tf.Tensor2D): tf.Tensor2D {
    return tf.rsqrt(tf.add(tf.matMul(tf.square(s), this.weightSq), 1e-8)) as tf.Tensor2D;
  }

  private preActivation(h: tf.Tensor4D, dcoefs: tf.Tensor2D): tf.Tensor4D {
    return tf.add(tf.add(tf.mul(h, tf.reshape(dcoefs, [1, 1, 1, this.outChannels])), this.noise), this.bias);
  }

  /** Gradients for [x, styles]; the same conventions as tfjs's own (leaky ReLU slope at 0, clip bounds pass). */
  private backward(dy: tf.Tensor4D, [x, s, h]: [tf.Tensor4D, tf.Tensor2D, tf.Tensor4D]): [tf.Tensor4D, tf.Tensor2D] {
    return tf.tidy(() => {
      const d = this.dcoefs(s);
      const z = this.preActivation(h, d);
      // Leaky ReLU's slope (0.2 where z <= 0, as tfjs's gradient) times the gain, and the clamp's pass-through
      // where |v| < clamp. Masks are products with step(): tf.where with scalar branches broadcasts through
      // Tile, which costs seconds per call on wasm at these sizes.
      let slope = tf.add(tf.mul(tf.step(z), 0.8 * SQRT2), 0.2 * SQRT2);
      if (this.clamp !== null) slope = tf.mul(slope, tf.step(tf.sub(this.clamp, tf.abs(tf.mul(tf.leakyRelu(z, 0.2), SQRT2)))));
      const dz = tf.mul(dy, slope) as tf.Tensor4D;
      const dd = sumOverPixels(tf.mul(dz, h));
      const dh = tf.mul(dz, tf.reshape(d, [1, 1, 1, this.outChannels])) as tf.Tensor4D;
      const dxs = this.up
        ? upsampleFirAdjoint(conv2dConstInputGrad(dh, this.filter, 'valid'), true)
        : conv2dConstInputGrad(dh, this.filter, 'same');
      const dx = tf.mul(dxs, tf.reshape(s, [1, 1, 1, this.inChannels])) as tf.Tensor4D;
      // d = (q + eps)^(-1/2) with q = s^2 @ weightSq: dq = -d^3 / 2 * dd, ds = 2 s * (dq @ weightSq^T).
      const dq = tf.mul(tf.mul(tf.pow(d, 3), -0.5), dd);
      const dsDemod = tf.mul(tf.mul(s, 2), tf.matMul(dq, this.weightSq, false, true));
      const dsMod = sumOverPixels(tf.mul(dxs, x));
      return [dx, tf.add(dsMod, dsDemod) as tf.Tensor2D];
    });
  }

  dispose(): void {
    this.affine.dispose();
    disposeConstFilter(this.filter);
    tf.dispose([this.weightSq, this.noise, this.bias]);
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
    return binaryCustomGrad<tf.Tensor4D>(x, styles, (xIn, sIn, save) => {
      const input = xIn as tf.Tensor4D;
      const s = sIn as tf.Tensor2D;
      const modulated = tf.reshape(tf.mul(input, tf.reshape(s, [1, 1, 1, this.inChannels])), [n * h * wd, this.inChannels]);
      const y = tf.reshape(tf.add(tf.matMul(modulated, this.weight), this.bias), [n, h, wd, 3]) as tf.Tensor4D;
      const out = this.clamp === null ? y : tf.clipByValue(y, -this.clamp, this.clamp);
      // The pre-clamp output decides where the clamp passes the gradient.
      save([input, s, y]);
      return {
        value: out,
        gradFunc: (dy, saved) => tf.tidy(() => {
          const [xs, ss, o] = saved as [tf.Tensor4D, tf.Tensor2D, tf.Tensor4D];
          const c = this.clamp;
          // Inside the clamp's bounds (the bounds themselves, a measure-zero set, pass nothing).
          const g = c === null ? dy : tf.mul(dy, tf.step(tf.sub(c, tf.abs(o))));
          const dmod = tf.reshape(tf.matMul(tf.reshape(g, [n * h * wd, 3]), this.weight, false, true), [n, h, wd, this.inChannels]);
          const dx = tf.mul(dmod, tf.reshape(ss, [1, 1, 1, this.inChannels]));
          const ds = sumOverPixels(tf.mul(dmod, xs));
          return [dx, ds];
        }),
      };
    });
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
