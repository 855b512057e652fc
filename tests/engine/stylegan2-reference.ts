// Reading the official-code reference tensors (training/reference/stylegan2_reference.py,
// training/import_fixtures/tf_reference.py) and comparing an engine generator with them; shared by the
// generator parity test and the import chain parity test.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { CONFIG_METADATA_KEY, numpyRandn, readFeatures, type ImageGenerator, type Point } from '../../engine/src/index.js';
import { parseSafetensors, serializeSafetensors, type SafeTensor } from '../../engine/src/io/safetensors.js';
import { sampleAt } from '../../engine/src/drag/features.js';

export const TOLERANCE = 1e-3;

export interface ReferenceInfo {
  seed: number;
  feature_idx: number;
  psi?: number;
}

export function readReference(file: URL): { expected: Map<string, SafeTensor>; info: ReferenceInfo } {
  const parsed = parseSafetensors(readFileSync(file));
  return { expected: parsed.tensors, info: JSON.parse(parsed.metadata['stabledrag.fixture']) as ReferenceInfo };
}

/** A parity fixture of tests/fixtures/stylegan2/NAME: its model file and the official outputs. */
export function fixture(name: string) {
  const dir = new URL(`../fixtures/stylegan2/${name}/`, import.meta.url);
  return { modelBytes: readFileSync(new URL('model.safetensors', dir)), modelFile: new URL('model.safetensors', dir), ...readReference(new URL('expected.safetensors', dir)) };
}

/** The same weights with config keys changed (e.g. pad_to_square), as a model file. */
export function withConfig(modelBytes: Uint8Array, patch: Record<string, unknown>): Uint8Array {
  const file = parseSafetensors(modelBytes);
  const config = { ...JSON.parse(file.metadata[CONFIG_METADATA_KEY]), ...patch };
  const tensors = new Map([...file.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data, dtype: t.dtype }]));
  return serializeSafetensors(tensors, { [CONFIG_METADATA_KEY]: JSON.stringify(config) });
}

/** NCHW [1, C, H, W] -> NHWC values. */
export function toNhwc(t: SafeTensor): Float32Array {
  const [, c, h, w] = t.shape;
  const out = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[p * c + k] = t.data[k * h * w + p];
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function pointsOf(t: SafeTensor): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < t.shape[0]; i++) out.push([t.data[2 * i], t.data[2 * i + 1]]);
  return out;
}

/** NHWC image values at pixels, [N, 3]. */
export function imageAt(image: { shape: number[]; data: Float32Array }, points: Point[]): Float32Array {
  const [, , w] = image.shape;
  const out = new Float32Array(points.length * 3);
  points.forEach(([x, y], i) => out.set(image.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), i * 3));
  return out;
}

export interface SynthesisReference {
  /** The drag block's native features [1, C, h, w], when stored whole. */
  features?: SafeTensor;
  points: SafeTensor;
  image: SafeTensor;
  /** The drag block's features bilinearly resized to the image size, at `points`. */
  resized: SafeTensor;
}

/** Max absolute errors of one generator's synthesis against the official outputs (each asserted <= 1e-3). */
/** The reference tensors of one view in an expected file: '' for the model's own, 'padded_' for the square view. */
export function synthesisReference(expected: Map<string, SafeTensor>, view: '' | 'padded_' = ''): SynthesisReference {
  const get = (key: string) => {
    const t = expected.get(view + key);
    if (!t) throw new Error(`the reference file has no ${view + key}`);
    return t;
  };
  return { features: view ? undefined : expected.get('features'), points: get('points'), image: get('image_at_points'), resized: get('features_resized_at_points') };
}

export function checkSynthesis(gen: ImageGenerator, ws: Float32Array, layer: number, refs: SynthesisReference): Record<string, number> {
  const { features, image } = readFeatures(gen, ws, [layer]);
  const f = features.get(layer)!;
  const [, h, w, c] = f.shape;
  expect([image.shape[1], image.shape[2]]).toEqual([gen.height, gen.width]);
  const errors: Record<string, number> = {};
  if (refs.features) errors.features = maxAbsDiff(f.data, toNhwc(refs.features));
  const points = pointsOf(refs.points);
  errors.image = maxAbsDiff(imageAt(image, points), refs.image.data);
  // The drag loop's reading of features at image pixels equals DragGAN's bilinear resize to the image size.
  const map = { rows: f.data, height: h, width: w, channels: c, imageWidth: gen.width, imageHeight: gen.height };
  errors.resizedFeatures = maxAbsDiff(sampleAt(map, points), refs.resized.data);
  for (const [what, err] of Object.entries(errors)) expect(err, what).toBeLessThanOrEqual(TOLERANCE);
  return errors;
}

/** Mapping (psi 1 and the reference's psi) from the seed's z, against the official w and w_trunc. */
export function checkMapping(gen: ImageGenerator, expected: Map<string, SafeTensor>, info: ReferenceInfo): Record<string, number> {
  const z = Float32Array.from(numpyRandn(info.seed, gen.config.z_dim));
  expect(maxAbsDiff(z, expected.get('z')!.data)).toBeLessThan(1e-6);
  const w = gen.mapping(z);
  const truncated = gen.broadcast(w, info.psi ?? gen.config.truncation_psi).subarray(0, gen.wDim);
  const errors = { w: maxAbsDiff(w, expected.get('w')!.data), w_trunc: maxAbsDiff(truncated, expected.get('w_trunc')!.data) };
  for (const [what, err] of Object.entries(errors)) expect(err, what).toBeLessThanOrEqual(TOLERANCE);
  return errors;
}
