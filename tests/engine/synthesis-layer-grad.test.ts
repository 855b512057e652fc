// The synthesis layers' hand-written gradients (engine/src/generator/stylegan2/layers.ts) against tfjs's
// automatic differentiation of the same computation written with plain ops, on a small random model with
// noise, biases and a conv_clamp low enough that some outputs are clamped; and a wide model's features and
// latent gradient with the Winograd convolutions against the direct ones.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { generatorFromBytes, initBackend } from '../../engine/src/index.js';
import { setWinograd } from '../../engine/src/ops/conv.js';
import { upsampleFir } from '../../engine/src/ops/upsample.js';
import { randomModelBytes, randomModelTensors } from '../../engine/src/model/random.js';
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

describe('StyleGAN2 with Winograd convolutions (wasm, 128 channels up to 32 px)', () => {
  it('features and their latent gradient match the direct convolutions within float noise', async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    onTestFinished(async () => {
      setWinograd(true);
      await initBackend({ backend: 'cpu', log: () => {} });
    });
    const wide: StyleGAN2Config = {
      ...config, name: 'wide', z_dim: 16, w_dim: 16, img_resolution: 32,
      channels: { '4': 128, '8': 128, '16': 128, '32': 128 }, conv_clamp: 256, drag_block: 32,
    };
    const gen = generatorFromBytes(randomModelBytes(wide, { seed: 3, noiseStrength: 0.3, biasStd: 0.2 }), 'wide');
    onTestFinished(() => gen.dispose());
    const latent = gen.latentFromSeed(1);
    const run = (winograd: boolean) => {
      setWinograd(winograd);
      return tf.tidy(() => {
        const ws = tf.tensor2d(latent, [gen.numWs, gen.wDim]);
        const r = tf.randomNormal([1, 32, 32, 128], 0, 1, 'float32', 4);
        const f = (v: tf.Tensor) => tf.sum(tf.mul(gen.synthesize(v as tf.Tensor2D, gen.defaultFeatureLayer).x, r)) as tf.Scalar;
        const { value, grad } = tf.valueAndGrad(f)(ws);
        const x = gen.synthesize(ws, gen.defaultFeatureLayer).x;
        return { x: x.dataSync().slice() as Float32Array, loss: value.dataSync()[0], grad: grad.dataSync().slice() as Float32Array };
      });
    };
    const direct = run(false);
    const wino = run(true);
    const rel = (a: Float32Array, b: Float32Array) => {
      let d = 0;
      let s = 0;
      for (let i = 0; i < a.length; i++) {
        d = Math.max(d, Math.abs(a[i] - b[i]));
        s = Math.max(s, Math.abs(b[i]));
      }
      return d / s;
    };
    expect(rel(wino.x, direct.x)).toBeGreaterThan(0); // the Winograd path ran (its rounding differs)
    expect(rel(wino.x, direct.x)).toBeLessThan(1e-4);
    expect(rel(wino.grad, direct.grad)).toBeLessThan(1e-4);
    expect(Math.abs(wino.loss - direct.loss) / Math.abs(direct.loss)).toBeLessThan(1e-4);
  });
});
