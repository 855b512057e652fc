// LPIPS-VGG16 (engine/src/invert/lpips.ts) against the PyTorch reference of LPIPS v0.1 on random weights of a
// reduced-width VGG16 (tests/fixtures/lpips, made by training/reference/lpips_reference.py): the distance and
// its gradient w.r.t. the input image; bad weight files refused by name.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, parseSafetensors } from '../../engine/src/index.js';
import { serializeSafetensors } from '../../engine/src/io/safetensors.js';
import { tensorRelativeError } from './relative-error.js';
import { LpipsLoadError, LpipsLoss, LpipsVgg, lpipsDownFactor } from '../../engine/src/invert/lpips.js';

const weights = readFileSync(new URL('../fixtures/lpips/lpips-small.safetensors', import.meta.url));
const expected = parseSafetensors(readFileSync(new URL('../fixtures/lpips/expected.safetensors', import.meta.url)));
const ref = (name: string) => expected.tensors.get(name)!;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

describe('LPIPS-VGG16', () => {
  it('matches the PyTorch reference: the distance and its gradient w.r.t. the image', () => {
    const net = LpipsVgg.fromBytes(weights, 'fixture');
    try {
      expect(net.widths).toEqual([8, 16, 16, 32, 32]);
      tf.tidy(() => {
        const x0 = tf.tensor4d(ref('x0').data, [1, 36, 36, 3]);
        const x1 = tf.tensor4d(ref('x1').data, [1, 36, 36, 3]);
        expect(tensorRelativeError(net.distance(x0, x1), ref('distance'))).toBeLessThan(1e-4);
        const loss = new LpipsLoss(net, x1);
        try {
          const grad = tf.grad((x: tf.Tensor) => loss.loss(x as tf.Tensor4D))(x0);
          expect(tensorRelativeError(grad, ref('grad_x0'))).toBeLessThan(1e-3);
          expect(loss.loss(x1).dataSync()[0]).toBeCloseTo(0, 6);
        } finally {
          loss.dispose();
        }
      });
    } finally {
      net.dispose();
    }
  });

  it('refuses corrupt files, other files and tensors that do not fit, by name', () => {
    const before = tf.memory().numTensors;
    expect(() => LpipsVgg.fromBytes(weights.subarray(0, 100), 'cut')).toThrow(/cut: corrupt safetensors file/);
    const file = parseSafetensors(weights);
    const rewrite = (edit: (t: Map<string, { shape: number[]; data: Float32Array; dtype: 'F16' | 'F32' }>) => void, meta = file.metadata) => {
      const tensors = new Map([...file.tensors].map(([k, v]) => [k, { ...v }]));
      edit(tensors);
      return serializeSafetensors(tensors, meta);
    };
    expect(() => LpipsVgg.fromBytes(rewrite(() => {}, {}), 'other')).toThrow(LpipsLoadError);
    expect(() => LpipsVgg.fromBytes(rewrite((t) => t.delete('features.14.bias')), 'gap')).toThrow(/gap: missing tensor features.14.bias/);
    expect(() =>
      LpipsVgg.fromBytes(rewrite((t) => t.set('features.7.weight', { ...t.get('features.7.weight')!, shape: [16, 16, 9, 1] })), 'shape'),
    ).toThrow(/shape: features.7.weight is \[16,16,9,1\], expected \[out, 16, 3, 3\]/);
    expect(() => LpipsVgg.fromBytes(rewrite((t) => t.set('lin2.weight', { dtype: 'F32', shape: [1, 8, 1, 1], data: new Float32Array(8) })), 'lin')).toThrow(
      /lin: lin2.weight is \[1,8,1,1\], expected \[1, 16, 1, 1\]/,
    );
    expect(() => LpipsVgg.fromBytes(rewrite((t) => t.set('lin0.weight', { dtype: 'F32', shape: [1, 8, 1, 1], data: new Float32Array(8).fill(-1) })), 'neg')).toThrow(
      /neg: lin0.weight holds a negative weight/,
    );
    expect(() => LpipsVgg.fromBytes(rewrite((t) => t.set('lin0.weight', { dtype: 'F32', shape: [1, 8, 1, 1], data: new Float32Array(8).fill(NaN) })), 'nan')).toThrow(
      /nan: lin0.weight holds a non-finite value/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('feeds VGG16 at most 256 px a side, box-downsampled by a factor dividing both sides', () => {
    expect(lpipsDownFactor(32, 32)).toBe(1);
    expect(lpipsDownFactor(256, 256)).toBe(1);
    expect(lpipsDownFactor(512, 512)).toBe(2);
    expect(lpipsDownFactor(1024, 1024)).toBe(4);
    expect(lpipsDownFactor(1024, 512)).toBe(4);
    expect(lpipsDownFactor(300, 300)).toBe(2);
    expect(lpipsDownFactor(1000, 600)).toBe(4);
    // No factor of 2 divides 257: the image goes in as it is.
    expect(lpipsDownFactor(257, 257)).toBe(1);
    // 1040x514: 2 divides both, 4 does not divide 514; the largest factor that does, though 520 > 256.
    expect(lpipsDownFactor(1040, 514)).toBe(2);
  });
});
