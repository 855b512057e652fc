// The trainable StyleGAN2 (pivotal tuning's view of the generator) on wasm: its render equals the inference
// generator's, and its weight gradients match PyTorch autograd through the official network
// (tests/fixtures/pti, made by training/reference/pti_grad_reference.py).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatorFromBytes, initBackend, numpyRandn, parseSafetensors, type ImageGenerator, type StyleGAN2Config } from '../../engine/src/index.js';
import { TrainableStyleGAN2 } from '../../engine/src/generator/stylegan2/trainable.js';
import { relativeError } from './relative-error.js';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url));
const modelBytes = fixture('stylegan2/sg2-128-map2/model.safetensors');
const model = parseSafetensors(modelBytes);
const expected = parseSafetensors(fixture('pti/expected.safetensors'));
const ws = parseSafetensors(fixture('stylegan2/sg2-128-map2/expected.safetensors')).tensors.get('ws')!;

let gen: ImageGenerator;
let trainable: TrainableStyleGAN2;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  gen = generatorFromBytes(modelBytes, 'sg2-128-map2');
  trainable = new TrainableStyleGAN2(gen.config as StyleGAN2Config, (name) => model.tensors.get(name)!);
});

afterAll(() => {
  trainable?.dispose();
  gen?.dispose();
});

describe('trainable StyleGAN2 for pivotal tuning', () => {
  it('renders what the inference generator renders', () => {
    const diff = tf.tidy(() => {
      const w = tf.tensor2d(ws.data, [gen.numWs, gen.wDim]);
      return tf.max(tf.abs(tf.sub(trainable.image(w), gen.image(w)))).dataSync()[0];
    });
    expect(diff).toBeLessThan(1e-4);
  });

  it('gives PyTorch autograd weight gradients for every tuned tensor (1e-3 relative)', () => {
    const [, h, w] = [1, gen.height, gen.width];
    const dy = tf.tensor4d(Float32Array.from(numpyRandn(7, h * w * 3)), [1, h, w, 3]);
    const wsT = tf.tensor2d(ws.data, [gen.numWs, gen.wDim]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(trainable.image(wsT), dy)) as tf.Scalar, trainable.variables());
    expect(value.dataSync()[0]).toBeCloseTo(expected.tensors.get('loss')!.data[0], 2);
    const names = [...expected.tensors.keys()].filter((n) => n.startsWith('grad.'));
    expect(names.length).toBe(trainable.variables().length);
    const worst: Array<[string, number]> = [];
    for (const key of names) {
      const name = key.slice('grad.'.length);
      const ref = expected.tensors.get(key)!;
      const got = grads[trainable.variable(name).name].dataSync();
      expect([...grads[trainable.variable(name).name].shape]).toEqual(ref.shape);
      worst.push([name, relativeError(got, ref.data).relative]);
    }
    worst.sort((a, b) => b[1] - a[1]);
    expect(worst[0][1], `worst: ${worst[0][0]}`).toBeLessThan(1e-3);
    tf.dispose([value, dy, wsT, ...Object.values(grads)]);
  });
});
