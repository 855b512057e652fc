// The engine's StyleGAN3 -T and -R against the OFFICIAL generator (NVlabs stylegan3's networks_stylegan3.py
// run on the CPU with its reference ops), on fixtures made by training/reference/stylegan3_reference.py: real
// 256 px layouts with few channels, a learned input rotation/translation and a user transform, magnitude
// EMAs != 1, and (for -R) radial filters and an acting conv_clamp. Mapping, the drag layer's features (the
// official L5 output, margins cropped to the image-aligned region the engine taps) and two images match
// within 1e-3 on wasm (and -T on cpu); the filters stored in the files equal the engine's own design.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatorFromBytes, initBackend, numpyRandn, readFeatures, type BackendName, type ImageGenerator, type StyleGAN3Config } from '../../engine/src/index.js';
import { parseSafetensors, type SafeTensor } from '../../engine/src/io/safetensors.js';
import { expectedStyleGAN3Params, synthesisGeometry } from '../../engine/src/generator/stylegan3/index.js';

const FIXTURES = ['sg3t', 'sg3r'];
const TOLERANCE = 1e-3;

function fixture(name: string) {
  const dir = new URL(`../fixtures/stylegan3/${name}/`, import.meta.url);
  const modelBytes = readFileSync(new URL('model.safetensors', dir));
  const file = parseSafetensors(readFileSync(new URL('expected.safetensors', dir)));
  const info = JSON.parse(file.metadata['stabledrag.fixture']) as { seed: number; drag_layer: number; layer_name: string };
  return { modelBytes, expected: file.tensors, info };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** NCHW [1, C, H, W] cropped by `margin` on every side -> NHWC values. */
function croppedNhwc(t: SafeTensor, margin: number): Float32Array {
  const [, c, h, w] = t.shape;
  const [oh, ow] = [h - 2 * margin, w - 2 * margin];
  const out = new Float32Array(c * oh * ow);
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) out[(y * ow + x) * c + k] = t.data[(k * h + y + margin) * w + x + margin];
  }
  return out;
}

/** NHWC image values at pixels (x, y) given as an [N, 2] tensor, [N, 3]. */
function imageAt(image: { shape: number[]; data: Float32Array }, points: SafeTensor): Float32Array {
  const w = image.shape[2];
  const n = points.shape[0];
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const [x, y] = [points.data[2 * i], points.data[2 * i + 1]];
    out.set(image.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), i * 3);
  }
  return out;
}

// The cpu backend (naive JS kernels) takes ~20 s per -T synthesis and ~50 s per -R one at 256 px, so it
// checks -T on one latent; wasm checks both models on both latents.
const CASES: Array<[BackendName, string, boolean]> = [
  ['cpu', 'sg3t', false],
  ['wasm', 'sg3t', true],
  ['wasm', 'sg3r', true],
];

describe('StyleGAN3 parity with the official code', () => {
  it.each(CASES)('%s %s: mapping, truncation, L5 features and images within 1e-3', async (backend, name, secondLatent) => {
    await initBackend({ backend, log: () => {} });
    const { modelBytes, expected, info } = fixture(name);
    const gen: ImageGenerator = generatorFromBytes(modelBytes, name);
    const z = Float32Array.from(numpyRandn(info.seed, gen.config.z_dim));
    expect(maxAbsDiff(z, expected.get('z')!.data)).toBeLessThan(1e-6);
    const w = gen.mapping(z);
    expect(maxAbsDiff(w, expected.get('w')!.data), 'w').toBeLessThanOrEqual(TOLERANCE);
    const truncated = gen.broadcast(w, gen.config.truncation_psi).subarray(0, gen.wDim);
    expect(maxAbsDiff(truncated, expected.get('w_trunc')!.data), 'w_trunc').toBeLessThanOrEqual(TOLERANCE);

    expect(gen.defaultFeatureLayer).toBe(info.drag_layer);
    const layer = gen.featureLayers()[info.drag_layer];
    expect(layer.name).toBe(info.layer_name);
    const ref = expected.get('features')!;
    const margin = (ref.shape[2] - layer.height) / 2;
    const { features, image } = readFeatures(gen, expected.get('ws')!.data, [info.drag_layer]);
    const f = features.get(info.drag_layer)!;
    expect(f.shape).toEqual([1, layer.height, layer.width, layer.channels]);
    const featureErr = maxAbsDiff(f.data, croppedNhwc(ref, margin));
    const imageErr = maxAbsDiff(imageAt(image, expected.get('points')!), expected.get('image_at_points')!.data);
    let image2Err = 0;
    if (secondLatent) {
      const image2 = readFeatures(gen, expected.get('ws2')!.data, []).image;
      image2Err = maxAbsDiff(imageAt(image2, expected.get('points')!), expected.get('image2_at_points')!.data);
    }
    console.log(`[stylegan3 parity] ${backend} ${name}: features ${featureErr.toExponential(2)}, image ${imageErr.toExponential(2)}, image2 ${image2Err.toExponential(2)}`);
    expect(featureErr, 'features').toBeLessThanOrEqual(TOLERANCE);
    expect(imageErr, 'image').toBeLessThanOrEqual(TOLERANCE);
    expect(image2Err, 'image (second latent)').toBeLessThanOrEqual(TOLERANCE);
    gen.dispose();
  });
});

describe('StyleGAN3 filter design', () => {
  it.each(FIXTURES)('%s: every stored up/down filter equals the design its config implies (1e-6)', (name) => {
    const file = parseSafetensors(fixture(name).modelBytes);
    const config = JSON.parse(file.metadata['stabledrag.config']) as StyleGAN3Config;
    const buffers = expectedStyleGAN3Params(config).filter((s) => /_filter$/.test(s.name));
    // Every non-ToRGB layer has both filters; -R's non-critical layers downsample with 2-D radial ones.
    expect(buffers).toHaveLength(2 * config.num_layers);
    const radial = buffers.filter((s) => s.shape.length === 2).length;
    expect(radial).toBe(config.use_radial_filters ? config.num_layers - config.num_critical : 0);
    for (const spec of buffers) {
      const stored = file.tensors.get(spec.name)!;
      expect(stored.shape, spec.name).toEqual(spec.shape);
      expect(maxAbsDiff(stored.data, spec.value!), spec.name).toBeLessThan(1e-6);
    }
    const stored = new Set([...file.tensors.keys()].map((k) => /^synthesis\.(L\d+_\d+_\d+)\./.exec(k)?.[1]).filter(Boolean));
    expect(new Set(synthesisGeometry(config).layers.map((l) => l.name))).toEqual(stored);
  });
});
