// The checkpoint importer on the committed fixture pickles (tests/fixtures/pickles, made by
// training/import_fixtures/make_pickles.py): every architecture imports with the official tensor names and
// the maker's values (for the two pickles built from the official parity fixtures' weights: that fixture's
// model file), the StyleGAN2 ones load and render in the engine, conditional models are refused.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_METADATA_KEY, DISCRIMINATOR_METADATA_KEY, importCheckpoint, initBackend, loadGenerator, parseSafetensors } from '../../engine/src/index.js';

const fixtures = new URL('../fixtures/pickles/', import.meta.url).pathname;
const out = mkdtempSync(path.join(tmpdir(), 'sd-import-'));

/** The expected values: the maker's state dict, or the official parity fixture whose weights the pickle holds. */
const EXPECTED: Record<string, string> = {
  'sg2-ffhq-256-map8': '../fixtures/stylegan2/sg2-256-map8/model.safetensors',
  'stylegan-human-512x256': '../fixtures/stylegan2/human-512x256/model.safetensors',
};

async function importAndCompare(name: string) {
  const result = await importCheckpoint(path.join(fixtures, `${name}.pkl`), path.join(out, name));
  const written = parseSafetensors(readFileSync(result.modelFile));
  const expectedFile = EXPECTED[name] ? new URL(EXPECTED[name], import.meta.url).pathname : path.join(fixtures, `${name}.expected.safetensors`);
  const expected = parseSafetensors(readFileSync(expectedFile));
  // The parity fixtures leave out the constant FIR filters (the engine implies them); the importer keeps them.
  const writtenNames = [...written.tensors.keys()].filter((n) => !(EXPECTED[name] && n.endsWith('resample_filter')));
  expect(writtenNames.sort()).toEqual([...expected.tensors.keys()].sort());
  for (const [tensorName, t] of expected.tensors) {
    const w = written.tensors.get(tensorName)!;
    // The maker's safetensors writer (numpy ascontiguousarray) stores scalars as one-element vectors.
    expect(w.shape, tensorName).toEqual(w.shape.length === 0 && t.shape.length === 1 && t.shape[0] === 1 ? [] : t.shape);
    expect(w.data, tensorName).toEqual(t.data);
  }
  expect(JSON.parse(written.metadata[CONFIG_METADATA_KEY])).toEqual(result.config);
  return { result, written };
}

describe('importCheckpoint', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
  });

  it('imports a StyleGAN2-ADA snapshot (256 px, 8 mapping layers) that the engine loads and renders', async () => {
    const { result } = await importAndCompare('sg2-ffhq-256-map8');
    expect(result.config).toMatchObject({
      architecture: 'stylegan2-ada', name: 'sg2-ffhq-256-map8', domain: 'faces', z_dim: 32, w_dim: 32, c_dim: 0,
      mapping_layers: 8, mapping_lr_multiplier: 0.01, img_resolution: 256, conv_clamp: 256, num_fp16_res: 4,
      drag_block: 128, truncation_psi: 0.7, channels: { 4: 32, 8: 32, 16: 32, 32: 16, 64: 8, 128: 4, 256: 2 },
      source: { file: 'sg2-ffhq-256-map8.pkl', format: 'stylegan2-ada-pickle' },
    });
    expect((result.config.source as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    const gen = await loadGenerator(path.dirname(result.modelFile));
    const image = gen.render(gen.latentFromSeed(0));
    expect([image.width, image.height]).toEqual([256, 256]);
    const pixels = new Set(Array.from(image.data.subarray(0, 4000)));
    expect(pixels.size).toBeGreaterThan(10);
    gen.dispose();

    // D: the official state-dict names, its init kwargs in the metadata.
    const d = parseSafetensors(readFileSync(result.discriminatorFile!));
    expect(d.tensors.get('b256.fromrgb.weight')!.shape).toEqual([4, 3, 1, 1]);
    expect(d.tensors.get('b4.out.weight')!.shape).toEqual([1, 4]);
    expect(JSON.parse(d.metadata[DISCRIMINATOR_METADATA_KEY])).toMatchObject({ class_name: 'Discriminator', init_kwargs: { img_resolution: 256, channel_base: 2048 } });
  });

  it('imports a protocol-2 snapshot with 2 mapping layers (storages as latin-1 strings)', async () => {
    const { result } = await importAndCompare('sg2-afhqcat-64-map2');
    expect(result.config).toMatchObject({ mapping_layers: 2, img_resolution: 64, drag_block: 64, domain: 'cats' });
    const gen = await loadGenerator(path.dirname(result.modelFile));
    expect(gen.render(gen.latentFromSeed(1)).width).toBe(64);
    gen.dispose();
  });

  it('imports a StyleGAN-Human-like non-square generator (512 x 256)', async () => {
    const { result, written } = await importAndCompare('stylegan-human-512x256');
    expect(result.config).toMatchObject({ img_resolution: 512, img_width: 256, domain: 'people', drag_block: 128 });
    expect(written.tensors.get('synthesis.b4.const')!.shape).toEqual([32, 4, 2]);
    expect(written.tensors.get('synthesis.b512.conv1.noise_const')!.shape).toEqual([512, 256]);
    expect(result.discriminatorFile).toBeUndefined();
    expect(result.discriminatorSkipped).toMatch(/no D/);
  });

  it('imports StyleGAN3 -T and -R with every layer buffer and the synthesis kwargs', async () => {
    const t = await importAndCompare('sg3-t-256');
    expect(t.result.config).toMatchObject({
      architecture: 'stylegan3', img_resolution: 256, channel_base: 256, channel_max: 8, num_layers: 14, num_critical: 2,
      conv_kernel: 3, use_radial_filters: false, margin_size: 10, output_scale: 0.25, filter_size: 6, lrelu_upsampling: 2,
      drag_layer: 5, mapping_layers: 2, source: { format: 'stylegan3-pickle' },
    });
    expect(t.written.tensors.get('synthesis.input.freqs')!.shape).toEqual([8, 2]);
    expect(t.written.tensors.has('synthesis.L0_36_8.magnitude_ema')).toBe(true);
    const r = await importAndCompare('sg3-r-256');
    expect(r.result.config).toMatchObject({ conv_kernel: 1, use_radial_filters: true, channel_base: 512, channel_max: 16 });
    const radial = [...r.written.tensors].filter(([n, x]) => n.endsWith('.down_filter') && x.shape.length === 2);
    expect(radial.length).toBeGreaterThan(0);
  });

  it('converts a TensorFlow-era config-f pickle (transposes, flipped upsampling convs, modulation bias + 1)', async () => {
    const { result } = await importAndCompare('sg2-car-config-f-128-tf');
    expect(result.config).toMatchObject({ architecture: 'stylegan2-ada', img_resolution: 128, mapping_layers: 8, domain: 'cars', source: { format: 'tf-config-f-pickle' } });
    expect(result.discriminatorSkipped).toMatch(/TensorFlow/);
    const gen = await loadGenerator(path.dirname(result.modelFile));
    expect(gen.render(gen.latentFromSeed(2)).height).toBe(128);
    gen.dispose();
  });

  it('refuses a conditional model and names c_dim; --name and --domain override the guesses', async () => {
    await expect(importCheckpoint(path.join(fixtures, 'sg2-conditional-32.pkl'), path.join(out, 'cond'))).rejects.toThrow(/conditional models \(c_dim = 10\) are not supported/);
    expect(existsSync(path.join(out, 'cond', 'model.safetensors'))).toBe(false);
    const r = await importCheckpoint(path.join(fixtures, 'sg2-afhqcat-64-map2.pkl'), path.join(out, 'named'), { name: 'Tabby', domain: 'pets' });
    expect(r.config).toMatchObject({ name: 'Tabby', domain: 'pets' });
  });

  it('refuses, before writing, a model the engine could not load, with the loader\'s message', async () => {
    // Both pickles read fine; the engine's own checks (check-model.ts) refuse what they hold.
    const bad = path.join(out, 'bad-noise');
    await expect(importCheckpoint(path.join(fixtures, 'sg2-bad-noise-shape-32.pkl'), bad)).rejects.toThrow(
      `the imported model would not load: ${path.join(bad, 'model.safetensors')}: tensor 'synthesis.b8.conv0.noise_const' has shape [8,9], expected [8,8]`,
    );
    const nan = path.join(out, 'nan');
    await expect(importCheckpoint(path.join(fixtures, 'sg2-nan-bias-32.pkl'), nan)).rejects.toThrow(
      `the imported model would not load: ${path.join(nan, 'model.safetensors')}: tensor 'synthesis.b16.conv1.bias' holds a non-finite value at index 1`,
    );
    for (const dir of [bad, nan]) expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it('reports read progress up to the file size, then each tensor written', async () => {
    const events: Array<{ phase: string; done: number; total: number }> = [];
    await importCheckpoint(path.join(fixtures, 'sg2-afhqcat-64-map2.pkl'), path.join(out, 'progress'), { onProgress: (p) => events.push(p) });
    const reads = events.filter((e) => e.phase === 'read');
    expect(reads.at(-1)!.done).toBe(reads.at(-1)!.total);
    const writes = events.filter((e) => e.phase === 'write');
    expect(writes.at(-1)!.done).toBe(writes.at(-1)!.total);
  });
});
