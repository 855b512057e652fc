// The polyphase upfirdn2d against a literal one (zero insertion, pad or crop, convolution with the flipped
// 2-D filter, decimation), values and input gradients (tfjs's own, of the literal op), on cpu and wasm; and filtered leaky ReLU against the
// literal composition the official reference implementation uses.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { initBackend } from '../backend.js';
import { FilteredLrelu } from './filtered-lrelu.js';
import { applyDown, applyUp, planDown, planDownRadial, planUp } from './upfirdn2d.js';

/** Largest difference relative to the reference's largest magnitude (random filters give values ~10-100). */
function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(b)).dataSync()[0]);
}

function randomFilter(k: number, seed: number): Float32Array {
  return tf.randomNormal([k], 0, 1, 'float32', seed).dataSync() as Float32Array;
}

/** Literal upfirdn2d on planes [P, H, W, 1] with a 2-D filter [k, k] (row-major), square up/down/padding. */
function literal(x: tf.Tensor4D, f2d: Float32Array, k: number, up: number, down: number, pad: [number, number]): tf.Tensor4D {
  const [p, h, w] = x.shape;
  let u: tf.Tensor4D = tf.reshape(tf.pad(tf.reshape(x, [p, h, 1, w, 1]), [[0, 0], [0, 0], [0, up - 1], [0, 0], [0, up - 1]]), [p, h * up, w * up, 1]);
  const crop = [Math.max(-pad[0], 0), Math.max(-pad[1], 0)];
  u = tf.pad(u, [[0, 0], [Math.max(pad[0], 0), Math.max(pad[1], 0)], [Math.max(pad[0], 0), Math.max(pad[1], 0)], [0, 0]]);
  u = tf.slice(u, [0, crop[0], crop[0], 0], [p, u.shape[1] - crop[0] - crop[1], u.shape[2] - crop[0] - crop[1], 1]);
  const flipped = new Float32Array(k * k);
  for (let i = 0; i < k * k; i++) flipped[i] = f2d[k * k - 1 - i];
  let y = tf.conv2d(u, tf.tensor4d(flipped, [k, k, 1, 1]), 1, 'valid');
  if (down === 1) return y;
  // Decimation as pad, reshape and slice (tfjs has no StridedSlice gradient).
  const [oh, ow] = [Math.ceil(y.shape[1] / down), Math.ceil(y.shape[2] / down)];
  y = tf.pad(y, [[0, 0], [0, oh * down - y.shape[1]], [0, ow * down - y.shape[2]], [0, 0]]);
  const rows = tf.slice(tf.reshape(y, [p, oh, down, ow * down]), [0, 0, 0, 0], [p, oh, 1, ow * down]);
  return tf.reshape(tf.slice(tf.reshape(rows, [p, oh, ow, down]), [0, 0, 0, 0], [p, oh, ow, 1]), [p, oh, ow, 1]);
}

function outer(f: Float32Array, gain = 1): Float32Array {
  const k = f.length;
  const o = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) o[i * k + j] = f[i] * f[j] * gain;
  return o;
}

/** The polyphase op for inputs of `size`; its plans (constant filters) are built once, outside any gradient scope. */
function separable(size: number, f: Float32Array | undefined, up: number, pad: [number, number], fd: Float32Array | undefined, down: number, radial = false) {
  const ups = f || up > 1 || pad[0] || pad[1] ? [planUp(2, size, f, up, pad[0], pad[1], up), planUp(1, size, f, up, pad[0], pad[1], up)] : [];
  const downs = fd ? (radial ? [planDownRadial(fd, Math.sqrt(fd.length), down)] : [planDown(2, fd, down), planDown(1, fd, down)]) : [];
  return (x: tf.Tensor4D) => {
    let y = x;
    for (const plan of ups) y = applyUp(y, plan);
    for (const plan of downs) y = applyDown(y, plan);
    return y;
  };
}

const UP_CASES: Array<[string, number, number, [number, number]]> = [
  ['up 2, 12 taps, padding (9, 8)', 2, 12, [9, 8]],
  ['up 4, 24 taps, padding (13, 12)', 4, 24, [13, 12]],
  ['up 2, 12 taps, cropping (-3, -2)', 2, 12, [-3, -2]],
  ['up 1, 1 tap, padding (2, 1)', 1, 1, [2, 1]],
];

describe.each(['cpu', 'wasm'] as const)('upfirdn2d on %s', (backend) => {
  it.each(UP_CASES)('upsampling %s equals the literal op, with its gradient', async (_name, up, k, pad) => {
    await initBackend({ backend, log: () => {} });
    onTestFinished(() => initBackend({ backend: 'cpu', log: () => {} }).then(() => undefined));
    const x = tf.randomNormal([3, 9, 9, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const f = k > 1 ? randomFilter(k, 2) : undefined;
    const ref = () => literal(x, outer(f ?? Float32Array.of(1), up * up), k, up, 1, pad);
    const op = separable(9, f, up, pad, undefined, 1);
    const ours = op(x);
    expect(maxDiff(ours, ref())).toBeLessThan(1e-5);
    const dy = tf.randomNormal(ours.shape, 0, 1, 'float32', 3);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(op(v as tf.Tensor4D), dy)))(x);
    const gRef = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(literal(v as tf.Tensor4D, outer(f ?? Float32Array.of(1), up * up), k, up, 1, pad), dy)))(x);
    expect(maxDiff(g, gRef)).toBeLessThan(1e-4);
  });

  it.each([
    ['separable, down 2, 12 taps', false, 2, 12],
    ['radial, down 2, 12 taps', true, 2, 12],
    ['separable, down 4, 24 taps', false, 4, 24],
  ] as const)('downsampling %s equals the literal op, with its gradient', async (_name, radial, down, k) => {
    await initBackend({ backend, log: () => {} });
    onTestFinished(() => initBackend({ backend: 'cpu', log: () => {} }).then(() => undefined));
    const x = tf.randomNormal([2, 31, 31, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const f1 = randomFilter(k, 5);
    const f2 = radial ? (tf.randomNormal([k * k], 0, 1, 'float32', 6).dataSync() as Float32Array) : outer(f1);
    const fd = radial ? f2 : f1;
    const op = separable(31, undefined, 1, [0, 0], fd, down, radial);
    const ours = op(x);
    expect(maxDiff(ours, literal(x, f2, k, 1, down, [0, 0]))).toBeLessThan(1e-5);
    const dy = tf.randomNormal(ours.shape, 0, 1, 'float32', 7);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(op(v as tf.Tensor4D), dy)))(x);
    const gRef = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(literal(v as tf.Tensor4D, f2, k, 1, down, [0, 0]), dy)))(x);
    expect(maxDiff(g, gRef)).toBeLessThan(1e-4);
  });

  it('filtered leaky ReLU equals bias, upfirdn up, lrelu * gain, clamp, upfirdn down (values and gradient)', async () => {
    await initBackend({ backend, log: () => {} });
    onTestFinished(() => initBackend({ backend: 'cpu', log: () => {} }).then(() => undefined));
    const [c, size, up, down] = [3, 14, 2, 2];
    const fu = randomFilter(12, 8);
    const fd = randomFilter(12, 9);
    const op = new FilteredLrelu({ inSize: size, fu, fd, radial: false, up, down, padding: [9, 8], gain: Math.SQRT2, slope: 0.2, clamp: 1.5 });
    const x = tf.randomNormal([1, size, size, c], 0, 1, 'float32', 10) as tf.Tensor4D;
    const bias = tf.tensor1d([0.3, -0.2, 0.1]);
    const reference = (v: tf.Tensor4D) => {
      const planes = tf.reshape(tf.transpose(tf.add(v, bias), [0, 3, 1, 2]), [c, size, size, 1]) as tf.Tensor4D;
      let t = literal(planes, outer(fu, up * up), 12, up, 1, [9, 8]);
      t = tf.clipByValue(tf.mul(tf.leakyRelu(t, 0.2), Math.SQRT2), -1.5, 1.5) as tf.Tensor4D;
      t = literal(t, outer(fd), 12, 1, down, [0, 0]);
      return tf.transpose(tf.reshape(t, [1, c, t.shape[1], t.shape[2]]), [0, 2, 3, 1]) as tf.Tensor4D;
    };
    const ours = op.apply(x, bias);
    expect(ours.shape).toEqual([1, op.outSize, op.outSize, c]);
    expect(maxDiff(ours, reference(x))).toBeLessThan(1e-5);
    const dy = tf.randomNormal(ours.shape, 0, 1, 'float32', 11);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(op.apply(v as tf.Tensor4D, bias), dy)))(x);
    const gRef = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(reference(v as tf.Tensor4D), dy)))(x);
    expect(maxDiff(g, gRef)).toBeLessThan(1e-4);

    // Split into chunks of planes (as large layers are), the values and the gradient are the same.
    const chunked = new FilteredLrelu({ inSize: size, fu, fd, radial: false, up, down, padding: [9, 8], gain: Math.SQRT2, slope: 0.2, clamp: 1.5, chunkBytes: 1 });
    expect(maxDiff(chunked.apply(x, bias), ours)).toBe(0);
    const gChunked = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(chunked.apply(v as tf.Tensor4D, bias), dy)))(x);
    expect(maxDiff(gChunked, g)).toBeLessThan(1e-6);
  });
});
