/**
 * A trainable view of a StyleGAN2 synthesis network, for pivotal tuning: the synthesis weights are
 * tf.Variables in the official state-dict layout (so the tuned values, and their delta from the base model,
 * are in the model file's own names and shapes), and the forward pass is plain taped tfjs ops whose
 * gradients every backend has. Convolutions go through conv2dTrainable because the wasm backend has no
 * Conv2DBackpropFilter kernel.
 *
 * This is a separate class, not a mode of StyleGAN2Generator: the inference generator folds gains, flips
 * and demodulation sums into constants once and writes its backward pass by hand for memory, none of which
 * survives weights that change every step. Rendering with tuned weights goes back through
 * StyleGAN2Generator (pti/delta.ts builds one from the base tensors plus the delta), so normal rendering is
 * untouched.
 *
 * The mapping network, the constant input and the noise buffers stay fixed (noise strengths too): PTI
 * tunes the synthesis around a fixed pivot latent.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dTrainable } from '../../ops/conv-weight-grad.js';
import { upsampleFir } from '../../ops/upsample.js';
import type { ParamSource } from '../types.js';
import { presentedSize } from '../../model/image-size.js';
import { blockResolutions, blockSize, expectedStyleGAN2Params, firstWsIndex, numWs, type StyleGAN2Config } from './config.js';

const SQRT2 = Math.SQRT2;

/** Whether PTI tunes this tensor: synthesis conv/ToRGB weights, their biases and their affine (style) layers. */
export function isTunedParam(name: string, kind: string): boolean {
  return name.startsWith('synthesis.') && (kind === 'weight' || kind === 'bias' || kind === 'affine_bias');
}

/** Names and shapes of the tensors PTI tunes, in the model file's order. */
export function tunedParamSpecs(config: StyleGAN2Config): Array<{ name: string; shape: number[] }> {
  return expectedStyleGAN2Params(config)
    .filter((s) => isTunedParam(s.name, s.kind))
    .map((s) => ({ name: s.name, shape: s.shape }));
}

export class TrainableStyleGAN2 {
  readonly numWs: number;
  readonly wDim: number;
  private readonly params = new Map<string, tf.Variable>();
  private constInput?: tf.Tensor4D;
  /** Per synthesis layer: noise_const * noise_strength as [1, h, w, 1]. */
  private readonly noise = new Map<string, tf.Tensor4D>();

  constructor(
    readonly config: StyleGAN2Config,
    get: ParamSource,
  ) {
    this.numWs = numWs(config);
    this.wDim = config.w_dim;
    try {
      for (const { name, shape } of tunedParamSpecs(config)) {
        const src = get(name);
        const init = tf.tensor(src.data, shape);
        this.params.set(name, tf.variable(init, true, `pti_${name}_${variableCounter++}`));
        // The variable keeps its own reference to the data.
        init.dispose();
      }
      const c = get('synthesis.b4.const');
      this.constInput = tf.tidy(() => tf.expandDims(tf.transpose(tf.tensor3d(c.data, c.shape as [number, number, number]), [1, 2, 0]), 0) as tf.Tensor4D);
      for (const r of blockResolutions(config)) {
        const size = blockSize(config, r);
        for (const layer of r === 4 ? ['conv1'] : ['conv0', 'conv1']) {
          const p = `synthesis.b${r}.${layer}`;
          const strength = get(`${p}.noise_strength`).data[0];
          this.noise.set(p, tf.tensor4d(get(`${p}.noise_const`).data.map((v) => v * strength), [1, size.height, size.width, 1]));
        }
      }
    } catch (err) {
      // A tensor that cannot be read leaves nothing allocated behind.
      this.dispose();
      throw err;
    }
  }

  /** The trainable variables, for tf.variableGrads and the optimiser. */
  variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** The variable holding the official tensor `name`. */
  variable(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`not a tuned parameter: ${name}`);
    return v;
  }

  /** Current values of every tuned tensor, by official name (PyTorch layout). */
  readTuned(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, v] of this.params) out.set(name, { shape: v.shape, data: v.dataSync().slice() as Float32Array });
    return out;
  }

  /** [1, H, W, 3] image in ~[-1, 1] for styles ws [numWs, wDim], presented as StyleGAN2Generator presents it. */
  image(ws: tf.Tensor2D): tf.Tensor4D {
    const img = this.synthesis(ws);
    const size = presentedSize(this.config);
    if (!size.padded) return img;
    // DragGAN pads StyleGAN-Human's image with 1 (white), its background colour.
    const p = (size.width - img.shape[2]) / 2;
    return tf.pad(img, [[0, 0], [0, 0], [p, p], [0, 0]], 1);
  }

  private synthesis(ws: tf.Tensor2D): tf.Tensor4D {
    let x: tf.Tensor4D | undefined;
    let img: tf.Tensor4D | undefined;
    const style = (i: number) => tf.slice(ws, [i, 0], [1, this.wDim]) as tf.Tensor2D;
    for (const r of blockResolutions(this.config)) {
      let i = firstWsIndex(r);
      const b = `synthesis.b${r}`;
      if (r === 4) {
        x = this.layer(`${b}.conv1`, this.constInput!, style(i++), false);
      } else {
        x = this.layer(`${b}.conv0`, x!, style(i++), true);
        x = this.layer(`${b}.conv1`, x, style(i++), false);
      }
      const rgb = this.toRGB(`${b}.torgb`, x, style(i));
      img = img ? (tf.add(upsampleFir(img, false), rgb) as tf.Tensor4D) : rgb;
    }
    return img!;
  }

  private affine(prefix: string, w: tf.Tensor2D, extraGain: number): tf.Tensor2D {
    const weight = this.variable(`${prefix}.affine.weight`);
    const gain = extraGain / Math.sqrt(this.wDim);
    return tf.add(tf.mul(tf.matMul(w, weight as tf.Tensor2D, false, true), gain), tf.mul(this.variable(`${prefix}.affine.bias`), extraGain)) as tf.Tensor2D;
  }

  /** StyleGAN2's SynthesisLayer (modulate, 3x3 conv, demodulate, noise, bias, leaky ReLU x sqrt 2, clamp). */
  private layer(prefix: string, x: tf.Tensor4D, w: tf.Tensor2D, up: boolean): tf.Tensor4D {
    const weight = this.variable(`${prefix}.weight`) as tf.Variable<tf.Rank.R4>; // [out, in, 3, 3]
    const [out, inC] = weight.shape;
    const s = this.affine(prefix, w, 1); // [1, in]
    // [kh, kw, in, out]; StyleGAN2-ADA flips the kernel of up-sampling layers (flip_weight = (up == 1)).
    let filter = tf.transpose(weight, [2, 3, 1, 0]) as tf.Tensor4D;
    if (up) filter = tf.reverse(filter, [0, 1]);
    const xs = tf.mul(x, tf.reshape(s, [1, 1, 1, inC])) as tf.Tensor4D;
    const h = up ? conv2dTrainable(upsampleFir(xs, true), filter, 'valid') : conv2dTrainable(xs, filter, 'same');
    const wsq = tf.transpose(tf.sum(tf.square(weight), [2, 3])) as tf.Tensor2D; // [in, out]
    const d = tf.rsqrt(tf.add(tf.matMul(tf.square(s), wsq), 1e-8));
    let y = tf.add(tf.add(tf.mul(h, tf.reshape(d, [1, 1, 1, out])), this.noise.get(prefix)!), this.variable(`${prefix}.bias`));
    y = tf.mul(tf.leakyRelu(y, 0.2), SQRT2);
    const clamp = this.config.conv_clamp;
    return (clamp === null ? y : tf.clipByValue(y, -clamp, clamp)) as tf.Tensor4D;
  }

  /** StyleGAN2's ToRGBLayer: modulated 1x1 conv without demodulation (styles scaled by 1/sqrt(in)), bias, clamp. */
  private toRGB(prefix: string, x: tf.Tensor4D, w: tf.Tensor2D): tf.Tensor4D {
    const weight = this.variable(`${prefix}.weight`); // [3, in, 1, 1]
    const [rgb, inC] = weight.shape;
    const [n, h, wd] = x.shape;
    const s = this.affine(prefix, w, 1 / Math.sqrt(inC));
    const xs = tf.reshape(tf.mul(x, tf.reshape(s, [1, 1, 1, inC])), [n * h * wd, inC]) as tf.Tensor2D;
    const y = tf.reshape(tf.add(tf.matMul(xs, tf.reshape(weight, [rgb, inC]) as tf.Tensor2D, false, true), this.variable(`${prefix}.bias`)), [n, h, wd, rgb]);
    const clamp = this.config.conv_clamp;
    return (clamp === null ? y : tf.clipByValue(y, -clamp, clamp)) as tf.Tensor4D;
  }

  dispose(): void {
    tf.dispose([...this.params.values(), ...(this.constInput ? [this.constInput] : []), ...this.noise.values()]);
    this.params.clear();
    this.noise.clear();
  }
}

let variableCounter = 0;
