// StyleGAN3 configs: the layer geometry equals the official SynthesisNetwork's at 256 px (-T and -R defaults,
// values printed by the official constructor), bad keys are refused by name, and a model file missing a
// tensor or carrying a wrong filter shape is refused naming the tensor.
import { describe, expect, it } from 'vitest';
import { CONFIG_METADATA_KEY, generatorFromBytes, initBackend, randomModelBytes, validateConfig, type StyleGAN3Config } from '../../engine/src/index.js';
import { synthesisGeometry } from '../../engine/src/generator/stylegan3/index.js';
import { parseSafetensors, serializeSafetensors } from '../../engine/src/io/safetensors.js';

const T256: StyleGAN3Config = {
  architecture: 'stylegan3', name: 't256', z_dim: 512, w_dim: 512, c_dim: 0, mapping_layers: 2, mapping_lr_multiplier: 0.01,
  img_resolution: 256, img_channels: 3, truncation_psi: 0.7, conv_clamp: 256, num_fp16_res: 4, channel_base: 32768, channel_max: 512,
  num_layers: 14, num_critical: 2, first_cutoff: 2, first_stopband: 2 ** 2.1, last_stopband_rel: 2 ** 0.3, margin_size: 10,
  output_scale: 0.25, conv_kernel: 3, filter_size: 6, lrelu_upsampling: 2, use_radial_filters: false, drag_layer: 5,
};
const R256: StyleGAN3Config = { ...T256, name: 'r256', channel_base: 65536, channel_max: 1024, conv_kernel: 1, use_radial_filters: true };

describe('StyleGAN3 geometry', () => {
  it('equals the official SynthesisNetwork at 256 px (-T): names, paddings, resampling factors', () => {
    const layers = synthesisGeometry(T256).layers;
    expect(layers.map((l) => l.name)).toEqual([
      'L0_36_512', 'L1_36_512', 'L2_36_512', 'L3_52_512', 'L4_52_512', 'L5_84_512', 'L6_84_512', 'L7_148_512',
      'L8_148_512', 'L9_148_362', 'L10_276_256', 'L11_276_181', 'L12_276_128', 'L13_256_128', 'L14_256_3',
    ]);
    expect(layers.map((l) => l.padding)).toEqual([
      [9, 8], [9, 8], [9, 8], [-6, -9], [9, 8], [-6, -9], [9, 8], [-6, -9], [9, 8], [9, 8], [-6, -9], [9, 8], [9, 8], [-11, -12], [0, 0],
    ]);
    expect(layers.map((l) => [l.upFactor, l.downFactor])).toEqual([...Array(14).fill(0).map((_, i) => [[3, 5, 7, 10].includes(i) ? 4 : 2, 2]), [1, 1]]);
    // Image-aligned taps: L5 is 64 x 64 once its 10-sample margin is cropped; the last two have no margin.
    expect([layers[5].margin, layers[13].margin, layers[14].margin]).toEqual([10, 0, 0]);
  });

  it('equals the official SynthesisNetwork at 256 px (-R): doubled widths, paddings of 1x1 convolutions, radial layers', () => {
    const layers = synthesisGeometry(R256).layers;
    expect(layers.map((l) => l.name).slice(9)).toEqual(['L9_148_724', 'L10_276_512', 'L11_276_362', 'L12_276_256', 'L13_256_256', 'L14_256_3']);
    expect(layers.map((l) => l.padding)).toEqual([
      [11, 10], [11, 10], [11, 10], [-2, -5], [11, 10], [-2, -5], [11, 10], [-2, -5], [11, 10], [11, 10], [-2, -5], [11, 10], [11, 10], [-9, -10], [0, 0],
    ]);
    expect(layers.map((l) => l.downRadial)).toEqual([...Array(12).fill(true), false, false, false]);
  });
});

describe('StyleGAN3 config validation', () => {
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['conv_kernel 2', { conv_kernel: 2 }, /'conv_kernel' must be 3 \(StyleGAN3-T\) or 1 \(StyleGAN3-R\), got 2/],
    ['drag_layer past the last layer', { drag_layer: 15 }, /'drag_layer' must be a layer index 0\.\.14, got 15/],
    ['a non-square width', { img_width: 128 }, /'img_width' must equal img_resolution \(256\)/],
    ['num_critical >= num_layers', { num_critical: 14 }, /'num_critical' must be an integer in \[0, num_layers\)/],
    ['no use_radial_filters', { use_radial_filters: undefined }, /'use_radial_filters' must be a boolean/],
    ['a negative output_scale', { output_scale: -1 }, /'output_scale' must be a number > 0/],
    ['a resolution not a power of two', { img_resolution: 200 }, /'img_resolution' must be a power of two >= 16, got 200/],
  ];
  it.each(bad)('refuses %s naming the key', (_name, patch, message) => {
    expect(() => validateConfig({ ...T256, ...patch })).toThrow(message);
  });

  it('refuses a file missing a filter or holding a wrong-shaped one, naming the tensor', async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
    const small: StyleGAN3Config = { ...T256, z_dim: 8, w_dim: 8, channel_base: 256, channel_max: 4 };
    const bytes = randomModelBytes(small, { seed: 3 });
    const gen = generatorFromBytes(bytes, 'random sg3');
    expect(gen.featureLayers()[5]).toMatchObject({ name: 'L5_84_4', width: 64, height: 64 });
    gen.dispose();
    const file = parseSafetensors(bytes);
    const rewrite = (edit: (m: Map<string, { shape: number[]; data: Float32Array; dtype: 'F32' }>) => void) => {
      const tensors = new Map([...file.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data, dtype: 'F32' as const }]));
      edit(tensors);
      return serializeSafetensors(tensors, { [CONFIG_METADATA_KEY]: file.metadata[CONFIG_METADATA_KEY] });
    };
    expect(() => generatorFromBytes(rewrite((m) => m.delete('synthesis.L3_52_4.up_filter')), 'x')).toThrow(/missing tensor 'synthesis\.L3_52_4\.up_filter' \(expected shape \[24\]\)/);
    expect(() => generatorFromBytes(rewrite((m) => m.set('synthesis.L2_36_4.down_filter', { shape: [12, 12], data: new Float32Array(144), dtype: 'F32' })), 'x')).toThrow(
      /tensor 'synthesis\.L2_36_4\.down_filter' has shape \[12,12\], expected \[12\]/,
    );
  });
});
