// The trainable convolution's gradients (what pivotal tuning needs) on wasm, against PyTorch autograd and the
// official modulated_conv2d (tests/fixtures/weight-grad, made by training/reference/weight_grad_reference.py).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, parseSafetensors } from '../../engine/src/index.js';
import { conv2dTrainable } from '../../engine/src/ops/conv-weight-grad.js';

const file = parseSafetensors(readFileSync(new URL('../fixtures/weight-grad/expected.safetensors', import.meta.url)));
const t = (name: string) => {
  const e = file.tensors.get(name);
  if (!e) throw new Error(`fixture lacks ${name}`);
  return tf.tensor(e.data, e.shape);
};

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Largest deviation relative to the reference's largest magnitude. */
function relErr(a: tf.Tensor, ref: tf.Tensor): number {
  return maxDiff(a, ref) / tf.tidy(() => tf.max(tf.abs(ref)).dataSync()[0]);
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

describe('trainable convolution (weight gradients on wasm)', () => {
  it('tfjs has no filter gradient for conv2d on wasm: the reason this op exists', () => {
    const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
    const w = tf.variable(tf.ones([3, 3, 2, 2]));
    expect(() => tf.variableGrads(() => tf.sum(tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 1, 'same')) as tf.Scalar, [w])).toThrow(/Conv2DBackpropFilter/);
    tf.dispose([x, w]);
  });

  for (const [prefix, padding] of [['same', 'same'], ['valid', 'valid']] as const) {
    it(`matches PyTorch conv2d gradients (${padding})`, () => {
      tf.tidy(() => {
        const x = t(`${prefix}_x`) as tf.Tensor4D;
        const w = t(`${prefix}_w`) as tf.Tensor4D;
        const dy = t(`${prefix}_dy`);
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2dTrainable(a as tf.Tensor4D, b as tf.Tensor4D, padding), dy)) as tf.Scalar;
        expect(relErr(conv2dTrainable(x, w, padding), t(`${prefix}_y`))).toBeLessThan(1e-5);
        const [dx, dw] = tf.grads(f)([x, w]);
        expect(relErr(dx, t(`${prefix}_dx`))).toBeLessThan(1e-5);
        expect(relErr(dw, t(`${prefix}_dw`))).toBeLessThan(1e-5);
      });
    });
  }

  it('gives the official modulated_conv2d gradients for weight, styles and input through tf.Variables', () => {
    const weight = tf.variable(t('mod_w'));
    const styles = tf.variable(t('mod_styles'));
    const x = tf.variable(t('mod_x'));
    const dy = t('mod_dy');
    const [, , cin, cout] = weight.shape;
    const layer = () => {
      // StyleGAN2's non-fused form: modulate x, convolve, demodulate by rsqrt(sum over kernel of (w*s)^2).
      const h = conv2dTrainable(tf.mul(x, tf.reshape(styles, [1, 1, 1, cin])) as tf.Tensor4D, weight as tf.Variable<tf.Rank.R4>, 'same');
      const wsq = tf.sum(tf.square(weight), [0, 1]) as tf.Tensor2D; // [in, out]
      const d = tf.rsqrt(tf.add(tf.matMul(tf.square(styles) as tf.Tensor2D, wsq), 1e-8));
      return tf.mul(h, tf.reshape(d, [1, 1, 1, cout]));
    };
    const y = tf.tidy(layer);
    expect(relErr(y, t('mod_y'))).toBeLessThan(1e-5);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer(), dy)) as tf.Scalar, [weight, styles, x]);
    expect(relErr(grads[weight.name], t('mod_dw'))).toBeLessThan(1e-4);
    expect(relErr(grads[styles.name], t('mod_dstyles'))).toBeLessThan(1e-4);
    expect(relErr(grads[x.name], t('mod_dx'))).toBeLessThan(1e-4);
    tf.dispose([value, y, dy, weight, styles, x, ...Object.values(grads)]);
  });
});
