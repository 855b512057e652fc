// The loader checks every tensor's name, shape and dtype and says which one is wrong; fp16 files load.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend.js';
import { ModelLoadError } from '../errors.js';
import { serializeSafetensors } from '../io/safetensors.js';
import { CONFIG_METADATA_KEY } from './config.js';
import type { StyleGAN2Config } from '../generator/stylegan2/config.js';
import { readFeatures } from '../generator/index.js';
import { generatorFromBytes, loadGenerator } from './load.js';
import { randomModelBytes, randomModelTensors } from './random.js';

const tiny: StyleGAN2Config = {
  architecture: 'stylegan2-ada',
  name: 'tiny',
  z_dim: 8,
  w_dim: 8,
  mapping_layers: 2,
  mapping_lr_multiplier: 0.01,
  img_resolution: 16,
  img_channels: 3,
  channels: { '4': 8, '8': 8, '16': 4 },
  conv_clamp: 256,
  drag_block: 8,
  truncation_psi: 1,
};

function bytesWith(edit: (t: ReturnType<typeof randomModelTensors>) => void, config: unknown = tiny): Uint8Array {
  const tensors = randomModelTensors(tiny, { seed: 3 });
  edit(tensors);
  return serializeSafetensors(tensors, { [CONFIG_METADATA_KEY]: JSON.stringify(config) });
}

function loadError(bytes: Uint8Array): string {
  try {
    generatorFromBytes(bytes, 'test.safetensors').dispose();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelLoadError);
    return (err as Error).message;
  }
  throw new Error('expected the load to fail');
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
});

describe('loading a model', () => {
  it('names the first missing tensor', () => {
    expect(loadError(bytesWith((t) => t.delete('synthesis.b8.conv0.weight')))).toMatch(/missing tensor 'synthesis\.b8\.conv0\.weight'/);
  });

  it('names a tensor with the wrong shape', () => {
    const msg = loadError(bytesWith((t) => t.set('mapping.fc1.bias', { shape: [9], data: new Float32Array(9), dtype: 'F32' })));
    expect(msg).toMatch(/'mapping\.fc1\.bias' has shape \[9\], expected \[8\]/);
  });

  it('rejects unknown tensors, non-finite values, bad configs and unsupported dtypes', () => {
    expect(loadError(bytesWith((t) => t.set('extra.weight', { shape: [1], data: new Float32Array(1), dtype: 'F32' })))).toMatch(/unexpected tensor 'extra\.weight'/);
    expect(loadError(bytesWith((t) => (t.get('synthesis.b4.const')!.data[3] = NaN)))).toMatch(/'synthesis\.b4\.const' holds a non-finite value/);
    expect(loadError(bytesWith(() => {}, { ...tiny, img_resolution: 24 }))).toMatch(/img_resolution/);
    const good = randomModelBytes(tiny);
    const header = new TextDecoder().decode(good.subarray(8, 8 + Number(new DataView(good.buffer).getBigUint64(0, true))));
    const i64 = new TextEncoder().encode(header.replace('"F32"', '"I64"'));
    const bad = new Uint8Array(good);
    bad.set(i64, 8);
    expect(loadError(bad)).toMatch(/unsupported dtype "I64"/);
  });

  it('refuses conditional models and malformed new keys by name', () => {
    expect(loadError(bytesWith(() => {}, { ...tiny, c_dim: 10 }))).toMatch(/conditional models \(c_dim = 10\) are not supported/);
    expect(loadError(bytesWith(() => {}, { ...tiny, img_width: 12 }))).toMatch(/'img_width' must be img_resolution \(16\) or half of it \(8\), got 12/);
    expect(loadError(bytesWith(() => {}, { ...tiny, pad_to_square: 'yes' }))).toMatch(/'pad_to_square' must be a boolean/);
    expect(loadError(bytesWith(() => {}, { ...tiny, architecture: 'stylegan1' }))).toMatch(/'architecture' must be one of 'stylegan2-ada', 'stylegan3'/);
    // A square file under a half-width config: the const's shape is named.
    expect(loadError(bytesWith(() => {}, { ...tiny, img_width: 8 }))).toMatch(/'synthesis\.b4\.const' has shape \[8,4,4\], expected \[8,4,2\]/);
  });

  it('loads a half-width model natively and padded to square', () => {
    const half = { ...tiny, img_width: 8 };
    const native = generatorFromBytes(randomModelBytes(half, { seed: 2 }), 'half');
    expect([native.width, native.height]).toEqual([8, 16]);
    expect(native.featureLayers().map((l) => [l.name, l.height, l.width])).toEqual([['b4', 4, 2], ['b8', 8, 4], ['b16', 16, 8]]);
    const padded = generatorFromBytes(randomModelBytes({ ...half, pad_to_square: true }, { seed: 2 }), 'half padded');
    expect([padded.width, padded.height]).toEqual([16, 16]);
    const latent = native.latentFromSeed(4);
    const a = native.render(latent);
    const b = padded.render(latent);
    // The padded image is the native one with 4 white columns on each side (DragGAN pads with 1).
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const px = Array.from(b.data.subarray((y * 16 + x) * 4, (y * 16 + x) * 4 + 4));
        const inside = x >= 4 && x < 12;
        expect(px).toEqual(inside ? Array.from(a.data.subarray((y * 8 + x - 4) * 4, (y * 8 + x - 4) * 4 + 4)) : [255, 255, 255, 255]);
      }
    }
    native.dispose();
    padded.dispose();
  });

  it('reports a corrupt or truncated file clearly', () => {
    const good = randomModelBytes(tiny);
    expect(loadError(good.subarray(0, 5))).toMatch(/corrupt safetensors file/);
    expect(loadError(good.subarray(0, good.length - 10))).toMatch(/corrupt safetensors file: tensor '.*': data_offsets/);
    const garbage = new Uint8Array(good);
    garbage.set(new TextEncoder().encode('{{{{'), 8);
    expect(loadError(garbage)).toMatch(/header is not valid JSON/);
  });

  it('fails on a missing path with a typed error', async () => {
    await expect(loadGenerator('/nonexistent/model')).rejects.toThrow(ModelLoadError);
  });

  it('loads fp16 files to within fp16 precision of fp32', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-model-'));
    writeFileSync(path.join(dir, 'model.safetensors'), randomModelBytes(tiny, { seed: 5, dtype: 'F16' }));
    const half = await loadGenerator(dir);
    const full = generatorFromBytes(randomModelBytes(tiny, { seed: 5 }), 'f32');
    const latent = full.latentFromSeed(1);
    const a = readFeatures(half, latent, []).image.data;
    const b = readFeatures(full, latent, []).image.data;
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    expect(m).toBeLessThan(0.05);
    half.dispose();
    full.dispose();
  });
});
