// The TypeScript StyleGAN2 against PyTorch (training/stylegan2/networks.py) on a committed fixture:
// a tiny random-weight model, its inputs, and PyTorch's mapping output, every block's features and the
// image. Within 1e-3 max absolute error on both the cpu and the wasm backend.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatorFromBytes, initBackend, numpyRandn, readFeatures, type BackendName } from '../../engine/src/index.js';
import { parseSafetensors, type SafeTensor } from '../../engine/src/io/safetensors.js';

const dir = new URL('../fixtures/parity/', import.meta.url);
const modelBytes = readFileSync(new URL('model.safetensors', dir));
const expected = parseSafetensors(readFileSync(new URL('expected.safetensors', dir))).tensors;

/** NCHW [1, C, H, W] -> NHWC values. */
function toNhwc(t: SafeTensor): Float32Array {
  const [, c, h, w] = t.shape;
  const out = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[p * c + k] = t.data[k * h * w + p];
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.each<BackendName>(['cpu', 'wasm'])('StyleGAN2 parity with PyTorch on %s', (backend) => {
  it('seed latent, mapping, truncation, every block and the image match within 1e-3', async () => {
    await initBackend({ backend, log: () => {} });
    const gen = generatorFromBytes(modelBytes, 'parity fixture');
    const z = Float32Array.from(numpyRandn(7, gen.config.z_dim));
    expect(maxAbsDiff(z, expected.get('z')!.data)).toBeLessThan(1e-6);

    const w = gen.mapping(z);
    expect(maxAbsDiff(w, expected.get('w')!.data)).toBeLessThan(1e-3);
    const truncated = gen.broadcast(w, 0.7).subarray(0, gen.wDim);
    expect(maxAbsDiff(truncated, expected.get('w_trunc')!.data)).toBeLessThan(1e-3);

    const { features, image } = readFeatures(gen, expected.get('ws')!.data);
    for (const layer of gen.featureLayers()) {
      const ref = expected.get(`features.${layer.name}`)!;
      const err = maxAbsDiff(features.get(layer.index)!.data, toNhwc(ref));
      expect(err, `features of ${layer.name}`).toBeLessThan(1e-3);
    }
    expect(maxAbsDiff(image.data, toNhwc(expected.get('img')!))).toBeLessThan(1e-3);
    gen.dispose();
  });
});
