// Every custom gradient in the ops layer, checked against tfjs's own gradient on the cpu backend, and the
// polyphase FIR upsampling checked against a literal upfirdn2d (zero insertion, pad, 4x4 filter).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { initBackend } from '../backend.js';
import { conv2dConst, disposeConstFilter, makeConstFilter } from './conv.js';
import { bilinearTaps, sampleRows, sampleRowsCpu } from './sample.js';
import { upsampleFir } from './upsample.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
});

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** StyleGAN2-ADA upfirdn2d with up=2, gain 4 and the [1,3,3,1] filter, done literally. */
function referenceUpfirdn(x: tf.Tensor4D, pad0: number, pad1: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const zeros = tf.zerosLike(x);
  let u = tf.reshape(tf.stack([x, zeros], 2), [n, 2 * h, w, c]);
  u = tf.reshape(tf.stack([u, tf.zerosLike(u)], 3), [n, 2 * h, 2 * w, c]);
  u = tf.pad(u, [[0, 0], [pad0, pad1], [pad0, pad1], [0, 0]]);
  const f1 = [1, 3, 3, 1];
  const f = new Float32Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) f[i * 4 + j] = (f1[i] * f1[j] * 4) / 64;
  // Channels folded into the batch: a depthwise filter as a plain 1-channel conv.
  const folded = tf.reshape(tf.transpose(u, [0, 3, 1, 2]), [n * c, u.shape[1]!, u.shape[2]!, 1]);
  const y = tf.conv2d(folded as tf.Tensor4D, tf.tensor4d(f, [4, 4, 1, 1]), 1, 'valid');
  return tf.transpose(tf.reshape(y, [n, c, y.shape[1], y.shape[2]]), [0, 2, 3, 1]) as tf.Tensor4D;
}

describe('conv2dConst', () => {
  for (const padding of ['same', 'valid'] as const) {
    it(`matches tf.conv2d and its input gradient (${padding})`, () => {
      const x = tf.randomNormal([1, 7, 6, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 5, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
      const filter = makeConstFilter(w);
      const dy = tf.randomNormal(tf.conv2d(x, w, 1, padding).shape, 0, 1, 'float32', 3);
      expect(maxDiff(conv2dConst(x, filter, padding), tf.conv2d(x, w, 1, padding))).toBeLessThan(1e-5);
      const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(conv2dConst(v as tf.Tensor4D, filter, padding), dy)))(x);
      const theirs = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, w, 1, padding), dy)))(x);
      expect(maxDiff(ours, theirs)).toBeLessThan(1e-4);
    });
  }
});

describe('conv2dConst on wasm, large enough for the Winograd path', () => {
  for (const padding of ['same', 'valid'] as const) {
    it(`matches tf.conv2d and its input gradient (${padding})`, async () => {
      await initBackend({ backend: 'wasm', log: () => {} });
      onTestFinished(async () => {
        await initBackend({ backend: 'cpu', log: () => {} });
      });
      tf.tidy(() => {
        const size = padding === 'same' ? 32 : 34;
        const x = tf.randomNormal([1, size, size, 128], 0, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, 128, 128], 0, 0.05, 'float32', 2) as tf.Tensor4D;
        const filter = makeConstFilter(w);
        const dy = tf.randomNormal(tf.conv2d(x, w, 1, padding).shape, 0, 1, 'float32', 3);
        const y = conv2dConst(x, filter, padding);
        // 'same' 32x32 takes F(4x4) both ways; 'valid' 34 -> 32 F(4x4) forward and 32 -> 34 F(2x2) backward.
        expect(filter.winograd?.size).toBeGreaterThan(0);
        const scale = (t: tf.Tensor) => tf.max(tf.abs(t)).dataSync()[0];
        const direct = tf.conv2d(x, w, 1, padding);
        // F(4x4, 3x3)'s transforms (coefficients up to 8 and 1/24) cost ~2e-5 of the output's range in fp32.
        expect(maxDiff(y, direct)).toBeLessThan(5e-5 * scale(direct));
        const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(conv2dConst(v as tf.Tensor4D, filter, padding), dy)))(x);
        const theirs = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, w, 1, padding), dy)))(x);
        expect(maxDiff(ours, theirs)).toBeLessThan(5e-5 * scale(theirs));
        disposeConstFilter(filter);
      });
    });
  }
});

// tfjs's cpu ResizeBilinearGrad swaps height and width for non-square inputs; the generator only
// resizes square maps, so the check uses square ones, on both backends.
describe.each(['cpu', 'wasm'] as const)('upsampleFir on %s', (backend) => {
  it('equals upfirdn2d up=2 with padding (2,1) and (3,2), with the same gradient', async () => {
    await initBackend({ backend, log: () => {} });
    onTestFinished(() => initBackend({ backend: 'cpu', log: () => {} }).then(() => undefined));
    const x = tf.randomNormal([1, 5, 5, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    for (const [extended, p0, p1] of [[false, 2, 1], [true, 3, 2]] as const) {
      const ref = referenceUpfirdn(x, p0, p1);
      const ours = upsampleFir(x, extended);
      expect(ours.shape).toEqual(ref.shape);
      expect(maxDiff(ours, ref)).toBeLessThan(1e-5);
      const dy = tf.randomNormal(ref.shape, 0, 1, 'float32', 5);
      const g1 = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(upsampleFir(v as tf.Tensor4D, extended), dy)))(x);
      const g2 = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(referenceUpfirdn(v as tf.Tensor4D, p0, p1), dy)))(x);
      expect(maxDiff(g1, g2)).toBeLessThan(1e-4);
    }
  });
});

describe('sampleRows', () => {
  const h = 5;
  const w = 6;
  const c = 4;
  // Includes a point outside the map (clamped), a point on a cell centre and repeated taps.
  const xs = [0.3, 2, 4.9, -1, 2.5];
  const ys = [0.7, 3, 3.2, 6, 2.5];

  it('blends the four neighbours bilinearly, like resizeBilinear does at cell centres', () => {
    const rows = tf.randomNormal([h * w, c], 0, 1, 'float32', 6) as tf.Tensor2D;
    const taps = bilinearTaps(xs, ys, h, w);
    const out = sampleRows(rows, taps).arraySync();
    const cpu = sampleRowsCpu(rows.dataSync() as Float32Array, c, taps);
    const grid = rows.arraySync();
    // (2, 3) is a cell centre: exactly that row.
    out[1].forEach((v, k) => expect(v).toBeCloseTo(grid[3 * w + 2][k], 5));
    out.flat().forEach((v, i) => expect(v).toBeCloseTo(cpu[i], 5));
  });

  it('has the gradient of the same blend written with tf.gather', () => {
    const rows = tf.randomNormal([h * w, c], 0, 1, 'float32', 7) as tf.Tensor2D;
    const taps = bilinearTaps(xs, ys, h, w);
    const dy = tf.randomNormal([xs.length, c], 0, 1, 'float32', 8);
    const reference = (r: tf.Tensor2D) => {
      const g = tf.reshape(tf.gather(r, tf.tensor1d(taps.indices, 'int32')), [4, xs.length, c]);
      return tf.sum(tf.mul(g, tf.tensor3d(taps.weights, [4, xs.length, 1])), 0);
    };
    const ours = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(sampleRows(r as tf.Tensor2D, taps), dy)))(rows);
    const theirs = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(reference(r as tf.Tensor2D), dy)))(rows);
    expect(maxDiff(ours, theirs)).toBeLessThan(1e-5);
  });
});

describe('absSignGrad', () => {
  it('is |x| with gradient sign(x): 0 at exactly 0, unlike tf.abs', async () => {
    const { absSignGrad } = await import('./abs.js');
    const x = tf.tensor1d([-2, 0, 3]);
    expect(Array.from(absSignGrad(x).dataSync())).toEqual([2, 0, 3]);
    expect(Array.from(tf.grad((v: tf.Tensor) => tf.sum(absSignGrad(v)))(x).dataSync())).toEqual([-1, 0, 1]);
  });
});
