/**
 * StyleGAN3's synthesis input (Fourier features under a learned rotation/translation and the user transform)
 * and synthesis layer (modulated convolution, then filtered leaky ReLU), prepared once from the official
 * state dict: weights become tfjs layout with constant factors folded in, filters become polyphase plans.
 */
import * as tf from '@tensorflow/tfjs';
import { FilteredLrelu } from '../../ops/filtered-lrelu.js';
import { makeConstFilter, type ConstFilter } from '../../ops/conv.js';
import { padAxis } from '../../ops/upfirdn2d.js';
import { Dense } from '../stylegan2/layers.js';
import type { ParamSource } from '../types.js';
import type { InputGeometry, LayerGeometry } from './config.js';
import { conv2dConst } from '../../ops/conv.js';

/** The Fourier-feature input: x = sin(2 pi (grid . freqs' + phases')) * amplitudes, then a channel mixing. */
export class SynthesisInput {
  private readonly affine: Dense;
  /** [3, 3] user transform (inverse, with respect to the image), row-major. */
  private readonly transform: tf.Tensor2D;
  /** [2, C]: freqs transposed. */
  private readonly freqsT: tf.Tensor2D;
  private readonly phases: tf.Tensor2D;
  /** [size*size, 2]: the sampling grid (x, y) in image units, centred. */
  private readonly grid: tf.Tensor2D;
  /** [C, C]: weight^T / sqrt(C). */
  private readonly mix: tf.Tensor2D;

  constructor(get: ParamSource, private readonly geo: InputGeometry) {
    const C = geo.channels;
    this.affine = new Dense(get, 'synthesis.input.affine', 1);
    this.transform = tf.tensor2d(get('synthesis.input.transform').data, [3, 3]);
    const freqs = get('synthesis.input.freqs').data;
    const ft = new Float32Array(2 * C);
    for (let c = 0; c < C; c++) {
      ft[c] = freqs[2 * c];
      ft[C + c] = freqs[2 * c + 1];
    }
    this.freqsT = tf.tensor2d(ft, [2, C]);
    this.phases = tf.tensor2d(get('synthesis.input.phases').data, [1, C]);
    // affine_grid with align_corners=False and theta = diag(0.5 * size / rate): sample centres (j + 0.5 - size/2) / rate.
    const s = geo.size;
    const grid = new Float32Array(s * s * 2);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        grid[(y * s + x) * 2] = (x + 0.5 - s / 2) / geo.rate;
        grid[(y * s + x) * 2 + 1] = (y + 0.5 - s / 2) / geo.rate;
      }
    }
    this.grid = tf.tensor2d(grid, [s * s, 2]);
    const w = get('synthesis.input.weight').data;
    const mix = new Float32Array(C * C);
    for (let o = 0; o < C; o++) for (let i = 0; i < C; i++) mix[i * C + o] = w[o * C + i] / Math.sqrt(C);
    this.mix = tf.tensor2d(mix, [C, C]);
  }

  /** w: [1, w_dim] -> [1, size, size, C]. */
  apply(w: tf.Tensor2D): tf.Tensor4D {
    const { channels: C, size, rate, bandwidth } = this.geo;
    let t = this.affine.apply(w); // [1, 4]: (r_c, r_s, t_x, t_y)
    t = tf.div(t, tf.norm(tf.slice(t, [0, 0], [1, 2]), 'euclidean', 1, true));
    const [c, s, tx, ty] = tf.split(t, 4, 1) as tf.Tensor2D[];
    // Rows of m_r @ m_t (inverse rotation, then inverse translation): [[c, -s, -c tx + s ty], [s, c, -s tx - c ty]].
    const row0 = tf.concat([c, tf.neg(s), tf.sub(tf.mul(s, ty), tf.mul(c, tx))], 1);
    const row1 = tf.concat([s, c, tf.neg(tf.add(tf.mul(s, tx), tf.mul(c, ty)))], 1);
    const top = tf.matMul(tf.concat([row0, row1], 0), this.transform); // [2, 3]: the first rows of (m_r m_t T)
    const rot = tf.slice(top, [0, 0], [2, 2]);
    const shift = tf.slice(top, [0, 2], [2, 1]);
    // freqs' = freqs @ M[:2, :2], phases' = phases + freqs @ M[:2, 2]; here in transposed form.
    const phases = tf.add(this.phases, tf.matMul(shift, this.freqsT, true, false)); // [1, C]
    const freqsT = tf.matMul(rot, this.freqsT, true, false); // [2, C]
    const norms = tf.sqrt(tf.sum(tf.square(freqsT), 0, true));
    const amplitudes = tf.clipByValue(tf.sub(1, tf.div(tf.sub(norms, bandwidth), rate / 2 - bandwidth)), 0, 1);
    let x = tf.add(tf.matMul(this.grid, freqsT), phases);
    x = tf.mul(tf.sin(tf.mul(x, 2 * Math.PI)), amplitudes);
    return tf.reshape(tf.matMul(x, this.mix), [1, size, size, C]);
  }

  dispose(): void {
    this.affine.dispose();
    tf.dispose([this.transform, this.freqsT, this.phases, this.grid, this.mix]);
  }
}

/** One synthesis layer L<i>: modulated conv (demodulated except ToRGB), bias, filtered leaky ReLU, clamp. */
export class SynthesisLayer {
  private readonly affine: Dense;
  /** Pre-normalised weight times the input gain (magnitude_ema^-1/2), tfjs layout [k, k, in, out]. */
  private readonly filter: ConstFilter;
  /** [in, out]: sum over the kernel of the pre-normalised weight squared, for demodulation. */
  private readonly weightSq?: tf.Tensor2D;
  private readonly bias: tf.Tensor1D;
  private readonly act?: FilteredLrelu;

  constructor(get: ParamSource, readonly geo: LayerGeometry, private readonly clamp: number | null) {
    const p = `synthesis.${geo.name}`;
    const inC = geo.inChannels;
    const k = geo.convKernel;
    // ToRGB's styles carry the 1/sqrt(fan-in) weight gain; folded into the affine, the product is the same.
    this.affine = new Dense(get, `${p}.affine`, 1, geo.isToRGB ? 1 / Math.sqrt(inC * k * k) : 1);
    const w = get(`${p}.weight`);
    const out = geo.outChannels;
    const inputGain = 1 / Math.sqrt(get(`${p}.magnitude_ema`).data[0]);
    const per = inC * k * k;
    const f = new Float32Array(per * out);
    const sq = new Float32Array(inC * out);
    for (let o = 0; o < out; o++) {
      let ms = 0;
      for (let q = 0; q < per; q++) ms += w.data[o * per + q] ** 2;
      // Demodulated layers pre-normalise each output filter to unit RMS (the official modulated_conv2d).
      const norm = geo.isToRGB ? 1 : 1 / Math.sqrt(ms / per);
      for (let i = 0; i < inC; i++) {
        for (let y = 0; y < k; y++) {
          for (let x = 0; x < k; x++) {
            const v = w.data[((o * inC + i) * k + y) * k + x] * norm;
            f[((y * k + x) * inC + i) * out + o] = v * inputGain;
            sq[i * out + o] += v * v;
          }
        }
      }
    }
    this.filter = makeConstFilter(tf.tensor4d(f, [k, k, inC, out]));
    if (!geo.isToRGB) this.weightSq = tf.tensor2d(sq, [inC, out]);
    this.bias = tf.tensor1d(get(`${p}.bias`).data);
    if (!geo.isToRGB) {
      const fd = get(`${p}.down_filter`);
      this.act = new FilteredLrelu({
        inSize: geo.inSize + k - 1,
        fu: get(`${p}.up_filter`).data,
        fd: fd.data,
        radial: fd.shape.length === 2,
        up: geo.upFactor,
        down: geo.downFactor,
        padding: geo.padding,
        gain: Math.SQRT2,
        slope: 0.2,
        clamp,
      });
      if (this.act.outSize !== geo.outSize) throw new Error(`${geo.name}: filtered_lrelu gives ${this.act.outSize} px, expected ${geo.outSize}`);
    }
  }

  /** x: [1, inSize, inSize, in]; w: [1, w_dim]. */
  apply(x: tf.Tensor4D, w: tf.Tensor2D): tf.Tensor4D {
    const inC = this.geo.inChannels;
    let styles = this.affine.apply(w); // [1, in]
    if (this.weightSq) styles = tf.mul(styles, tf.rsqrt(tf.mean(tf.square(styles))));
    let h = tf.mul(x, tf.reshape(styles, [1, 1, 1, inC])) as tf.Tensor4D;
    // The official conv pads by kernel - 1 on every side ('full' correlation).
    const k = this.geo.convKernel;
    if (k > 1) h = padAxis(padAxis(h, 1, k - 1, k - 1), 2, k - 1, k - 1);
    h = conv2dConst(h, this.filter, 'valid');
    if (this.weightSq) {
      const dcoefs = tf.rsqrt(tf.add(tf.matMul(tf.square(styles), this.weightSq), 1e-8));
      h = tf.mul(h, tf.reshape(dcoefs, [1, 1, 1, this.geo.outChannels]));
    }
    if (this.act) return this.act.apply(h, this.bias);
    h = tf.add(h, this.bias);
    return this.clamp === null ? h : tf.clipByValue(h, -this.clamp, this.clamp);
  }

  dispose(): void {
    this.affine.dispose();
    this.act?.dispose();
    tf.dispose([this.filter.forward, this.filter.backward, this.bias, ...(this.weightSq ? [this.weightSq] : [])]);
  }
}
