// The synthesis layers' hand-written gradients (engine/src/generator/stylegan2/layers.ts) against tfjs's
// automatic differentiation of the same computation written with plain ops, on a small random model with
// noise, biases and a conv_clamp low enough that some outputs are clamped.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/src/index.js';
import { upsampleFir } from '../../engine/src/ops/upsample.js';
import { randomModelTensors } from '../../engine/src/model/random.js';
import { SynthesisLayer, ToRGB } from '../../engine/src/generator/stylegan2/layers.js';
import type { StyleGAN2Config } from '../../engine/src/generator/stylegan2/config.js';
import type { ParamSource } from '../../engine/src/generator/types.js';

const config: StyleGAN2Config = {
  architecture: 'stylegan2-ada', name: 'grad', domain: 'test', z_dim: 8, w_dim: 8, mapping_layers: 1,
  mapping_lr_multiplier: 0.01, img_resolution: 16, img_channels: 3,
  channels: { '4': 8, '8': 6, '16': 4 }, conv_clamp: 1.5, drag_block: 8, truncation_psi: 1,
};
let get: ParamSource;

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
  const tensors = randomModelTensors(config, { seed: 5, noiseStrength: 0.7, biasStd: 0.3 });
  get = (name) => {
    const t = tensors.get(name)!;
    return { shape: t.shape, data: t.data as Float32Array };
  };
});

/** The layer's forward pass written with plain taped ops (the formulation before fusion). */
function plainLayer(l: SynthesisLayer, x: tf.Tensor4D, w: tf.Tensor2D, clamp: number): tf.Tensor4D {
  const styles = l.affine.apply(w);
  const xs = tf.mul(x, tf.reshape(styles, [1, 1, 1, l.inChannels])) as tf.Tensor4D;
  let h: tf.Tensor4D;
  if (l.up) {
    // upsampleFir's own gradient is checked in engine/src/ops/ops.test.ts.
    h = tf.conv2d(upsampleFir(xs, true), l.filter.forward, 1, 'valid');
  } else {
    h = tf.conv2d(xs, l.filter.forward, 1, 'same');
  }
  const d = tf.rsqrt(tf.add(tf.matMul(tf.square(styles), l.weightSq), 1e-8));
  let y = tf.add(tf.mul(h, tf.reshape(d, [1, 1, 1, l.outChannels])), l.noise);
  y = tf.mul(tf.leakyRelu(tf.add(y, l.bias), 0.2), Math.SQRT2);
  return tf.clipByValue(y, -clamp, clamp) as tf.Tensor4D;
}

function plainToRGB(t: ToRGB, x: tf.Tensor4D, w: tf.Tensor2D, clamp: number): tf.Tensor4D {
  const [n, h, wd] = x.shape;
  const styles = t.affine.apply(w);
  const m = tf.reshape(tf.mul(x, tf.reshape(styles, [1, 1, 1, t.inChannels])), [n * h * wd, t.inChannels]);
  return tf.clipByValue(tf.reshape(tf.add(tf.matMul(m, t.weight), t.bias), [n, h, wd, 3]), -clamp, clamp) as tf.Tensor4D;
}

function compare(fused: (x: tf.Tensor4D, w: tf.Tensor2D) => tf.Tensor4D, plain: (x: tf.Tensor4D, w: tf.Tensor2D) => tf.Tensor4D, xShape: [number, number, number, number], clamp: number) {
  tf.tidy(() => {
    const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([1, config.w_dim], 0, 1, 'float32', 2) as tf.Tensor2D;
    const yShape = plain(x, w).shape;
    const r = tf.randomNormal(yShape, 0, 1, 'float32', 3);
    const loss = (f: typeof fused) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor2D), r)) as tf.Scalar;
    const yf = fused(x, w);
    const yp = plain(x, w);
    const clamped = tf.sum(tf.cast(tf.greaterEqual(tf.abs(yp), clamp - 1e-6), 'float32')).dataSync()[0];
    const [gxf, gwf] = tf.grads(loss(fused))([x, w]);
    const [gxp, gwp] = tf.grads(loss(plain))([x, w]);
    const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    const scale = (a: tf.Tensor) => tf.max(tf.abs(a)).dataSync()[0];
    expect(clamped).toBeGreaterThan(0); // the clamp's gradient is exercised
    expect(maxDiff(yf, yp)).toBeLessThan(1e-5 * Math.max(1, scale(yp)));
    expect(maxDiff(gxf, gxp)).toBeLessThan(1e-4 * scale(gxp));
    expect(maxDiff(gwf, gwp)).toBeLessThan(1e-4 * scale(gwp));
    expect(scale(gwp)).toBeGreaterThan(0);
  });
}

describe('StyleGAN2 synthesis layers: hand-written gradients', () => {
  it('3x3 modulated conv layer (noise, bias, lrelu, clamp) matches autodiff for the input and the latent', () => {
    const l = new SynthesisLayer(get, 'synthesis.b8.conv1', { height: 8, width: 8 }, false, config.conv_clamp);
    compare((x, w) => l.apply(x, w), (x, w) => plainLayer(l, x, w, config.conv_clamp!), [1, 8, 8, 6], config.conv_clamp!);
    l.dispose();
  });

  it('up-sampling layer matches autodiff for the input and the latent', () => {
    const l = new SynthesisLayer(get, 'synthesis.b16.conv0', { height: 16, width: 16 }, true, config.conv_clamp);
    compare((x, w) => l.apply(x, w), (x, w) => plainLayer(l, x, w, config.conv_clamp!), [1, 8, 8, 6], config.conv_clamp!);
    l.dispose();
  });

  it('ToRGB matches autodiff for the input and the latent', () => {
    const t = new ToRGB(get, 'synthesis.b8.torgb', 0.3);
    compare((x, w) => t.apply(x, w), (x, w) => plainToRGB(t, x, w, 0.3), [1, 8, 8, 6], 0.3);
    t.dispose();
  });
});
