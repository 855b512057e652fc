/**
 * A room's pivotal-tuning weights in compact form: the difference between the tuned and the base synthesis
 * tensors, each stored either as float16 low-rank factors (a truncated SVD of the tensor reshaped to
 * [out, rest]) or as a float16 dense delta where low rank would not be smaller (biases, ToRGB weights).
 *
 * The rank is chosen for the whole file at once: the smallest kept fraction of each tensor's delta energy
 * (squared Frobenius norm) whose render of the pivot stays within `minPsnr` dB of the full-precision delta's
 * render. The file is safetensors with the base model's identity in its metadata; loading checks that
 * identity, every name, shape and value before anything is built, so a delta for another model, a truncated
 * file or hostile shapes are refused with a PtiWeightsError.
 *
 * Tensor names: `<official name>.delta` [shape] or `<official name>.delta_a` [out, k] and `.delta_b` [k, rest].
 */
import { EngineError } from '../../errors.js';
import { parseSafetensors, serializeSafetensors, type SafetensorsFile, type TensorToWrite } from '../../io/safetensors.js';
import { createGenerator } from '../../generator/index.js';
import type { ImageGenerator } from '../../generator/types.js';
import { tunedParamSpecs } from '../../generator/stylegan2/trainable.js';
import type { StyleGAN2Config } from '../../generator/stylegan2/config.js';
import { psnr } from '../metrics.js';
import type { BaseModel } from './base-model.js';
import { lowRankFactors, multiplyFactors, rankForEnergy, svd, type Svd } from './low-rank.js';

export const PTI_WEIGHTS_METADATA_KEY = 'stabledrag.pti-weights';
const FORMAT_VERSION = 1;

/** The kept energy fractions tried, in order; 1 stores every tensor as a dense float16 delta. */
const ENERGY_STEPS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1];

/** Default: the compact delta's render of the pivot within 40 dB PSNR of the full delta's. */
export const DEFAULT_PTI_MIN_PSNR = 40;

/** PTI weights are refused: corrupt, for another model, or malformed. Nothing was applied. */
export class PtiWeightsError extends EngineError {
  constructor(message: string) {
    super('invalid-pti-weights', message);
  }
}

export type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

export interface PtiWeightsMetadata {
  version: number;
  model: { id: string; name: string };
  /** Kept fraction of each tensor's delta energy (1: dense float16). */
  energy: number;
  /** PSNR (dB) of the stored delta's pivot render against the full delta's (Infinity is written as null). */
  psnrVsFull: number | null;
}

export interface CompactPtiWeights {
  bytes: Uint8Array;
  metadata: PtiWeightsMetadata;
  /** Tuned parameter count, and what a dense float16 delta of them would take. */
  params: number;
  denseF16Bytes: number;
}

function rowsCols(shape: number[]): [number, number] {
  return [shape[0], shape.slice(1).reduce((a, b) => a * b, 1)];
}

function specs(base: BaseModel) {
  if (base.config.architecture !== 'stylegan2-ada') throw new PtiWeightsError(`pivotal tuning supports StyleGAN2 models; '${base.config.name}' is ${base.config.architecture}`);
  return tunedParamSpecs(base.config as StyleGAN2Config);
}

function encode(deltas: Tensors, decomposed: Map<string, Svd>, energy: number): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const [name, d] of deltas) {
    const dec = decomposed.get(name);
    if (dec && energy < 1) {
      const [rows, cols] = rowsCols(d.shape);
      const k = Math.max(1, rankForEnergy(dec.s, energy));
      if (k * (rows + cols) < rows * cols) {
        const { a, b } = lowRankFactors(dec, k);
        out.set(`${name}.delta_a`, { shape: [rows, k], data: a, dtype: 'F16' });
        out.set(`${name}.delta_b`, { shape: [k, cols], data: b, dtype: 'F16' });
        continue;
      }
    }
    out.set(`${name}.delta`, { shape: d.shape, data: d.data, dtype: 'F16' });
  }
  return out;
}

function overlayGenerator(base: BaseModel, tensors: Tensors): ImageGenerator {
  return createGenerator(base.config, (name) => tensors.get(name) ?? base.get(name));
}

function addDeltas(base: BaseModel, deltas: Tensors): Tensors {
  const out: Tensors = new Map();
  for (const [name, d] of deltas) {
    const b = base.get(name).data;
    out.set(name, { shape: d.shape, data: Float32Array.from(d.data, (v, i) => b[i] + v) });
  }
  return out;
}

/**
 * Compacts tuned tensors (official names, as TrainableStyleGAN2.readTuned gives) against the base model,
 * choosing the kept energy by rendering `pivot` (numWs x wDim).
 */
export function compactPtiWeights(base: BaseModel, tuned: Tensors, pivot: Float32Array, minPsnr = DEFAULT_PTI_MIN_PSNR): CompactPtiWeights {
  const deltas: Tensors = new Map();
  const decomposed = new Map<string, Svd>();
  let params = 0;
  for (const { name, shape } of specs(base)) {
    const t = tuned.get(name);
    if (!t) throw new PtiWeightsError(`the tuned weights lack ${name}`);
    const b = base.get(name).data;
    const data = Float32Array.from(t.data, (v, i) => v - b[i]);
    deltas.set(name, { shape, data });
    params += data.length;
    const [rows, cols] = rowsCols(shape);
    if (shape.length >= 2 && rows > 1 && cols > 1) decomposed.set(name, svd(data, rows, cols));
  }
  const full = overlayGenerator(base, addDeltas(base, deltas));
  let reference;
  try {
    reference = full.render(pivot);
  } finally {
    full.dispose();
  }
  const tried = new Map<number, { bytes: Uint8Array; psnr: number }>();
  const attempt = (i: number) => {
    let got = tried.get(i);
    if (got) return got;
    const energy = ENERGY_STEPS[i];
    const metadata = (p: number): Record<string, string> => ({
      [PTI_WEIGHTS_METADATA_KEY]: JSON.stringify({
        version: FORMAT_VERSION,
        model: { id: base.id, name: base.config.name },
        energy,
        psnrVsFull: Number.isFinite(p) ? Number(p.toFixed(2)) : null,
      } satisfies PtiWeightsMetadata),
    });
    const tensors = encode(deltas, decomposed, energy);
    const gen = applyPtiWeights(base, serializeSafetensors(tensors, metadata(Infinity)));
    let value: number;
    try {
      value = psnr(gen.render(pivot), reference);
    } finally {
      gen.dispose();
    }
    got = { bytes: serializeSafetensors(tensors, metadata(value)), psnr: value };
    tried.set(i, got);
    return got;
  };
  // The first energy step that meets minPsnr (PSNR grows with the kept energy), by bisection.
  let lo = 0;
  let hi = ENERGY_STEPS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (attempt(mid).psnr >= minPsnr) hi = mid;
    else lo = mid + 1;
  }
  const chosen = attempt(lo);
  return { bytes: chosen.bytes, metadata: readMetadata(parseSafetensors(chosen.bytes)), params, denseF16Bytes: 2 * params };
}

function readMetadata(file: SafetensorsFile): PtiWeightsMetadata {
  const raw = file.metadata[PTI_WEIGHTS_METADATA_KEY];
  if (raw === undefined) throw new PtiWeightsError(`not a PTI weights file: no '${PTI_WEIGHTS_METADATA_KEY}' metadata`);
  let meta: PtiWeightsMetadata;
  try {
    meta = JSON.parse(raw);
  } catch (err) {
    throw new PtiWeightsError(`the PTI weights metadata is not valid JSON (${(err as Error).message})`);
  }
  if (meta?.version !== FORMAT_VERSION) throw new PtiWeightsError(`PTI weights format version ${JSON.stringify(meta?.version)} is not supported (expected ${FORMAT_VERSION})`);
  if (typeof meta.model?.id !== 'string' || typeof meta.model?.name !== 'string') throw new PtiWeightsError('the PTI weights metadata does not name its model');
  return meta;
}

/** Reads PTI weights' metadata (no model needed), refusing anything that is not a PTI weights file. */
export function ptiWeightsMetadata(bytes: Uint8Array): PtiWeightsMetadata {
  return readMetadata(parseChecked(bytes));
}

function parseChecked(bytes: Uint8Array): SafetensorsFile {
  try {
    return parseSafetensors(bytes);
  } catch (err) {
    throw new PtiWeightsError(`the PTI weights file is corrupt: ${(err as Error).message}`);
  }
}

/** The tuned tensors (base + delta) the file describes, after checking it belongs to `base` and is well formed. */
export function ptiTunedTensors(base: BaseModel, bytes: Uint8Array): Tensors {
  const file = parseChecked(bytes);
  const meta = readMetadata(file);
  if (meta.model.id !== base.id) {
    throw new PtiWeightsError(`these PTI weights were tuned from model '${meta.model.name}' (${meta.model.id}), not from '${base.config.name}' (${base.id})`);
  }
  const expected = specs(base);
  const known = new Set<string>();
  const out: Tensors = new Map();
  const shapeText = (s: number[]) => `[${s.join(', ')}]`;
  for (const { name, shape } of expected) {
    const [rows, cols] = rowsCols(shape);
    const dense = file.tensors.get(`${name}.delta`);
    const a = file.tensors.get(`${name}.delta_a`);
    const b = file.tensors.get(`${name}.delta_b`);
    let delta: Float32Array;
    if (dense && !a && !b) {
      if (shapeText(dense.shape) !== shapeText(shape)) throw new PtiWeightsError(`${name}.delta is ${shapeText(dense.shape)}, expected ${shapeText(shape)}`);
      delta = dense.data;
      known.add(`${name}.delta`);
    } else if (a && b && !dense) {
      const k = a.shape[1];
      const ok = a.shape.length === 2 && b.shape.length === 2 && a.shape[0] === rows && b.shape[1] === cols && b.shape[0] === k && k >= 1 && k <= Math.min(rows, cols);
      if (!ok) throw new PtiWeightsError(`${name}: low-rank factors ${shapeText(a.shape)} x ${shapeText(b.shape)} do not make ${shapeText([rows, cols])}`);
      delta = multiplyFactors(a.data, b.data, rows, k, cols);
      known.add(`${name}.delta_a`).add(`${name}.delta_b`);
    } else {
      throw new PtiWeightsError(`${name}: expected either '${name}.delta' or both low-rank factors in the PTI weights`);
    }
    const base0 = base.get(name).data;
    const data = new Float32Array(delta.length);
    for (let i = 0; i < delta.length; i++) {
      const v = base0[i] + delta[i];
      if (!Number.isFinite(v)) throw new PtiWeightsError(`${name} holds a non-finite value at ${i}`);
      data[i] = v;
    }
    out.set(name, { shape, data });
  }
  for (const name of file.tensors.keys()) if (!known.has(name)) throw new PtiWeightsError(`unexpected tensor '${name}' in the PTI weights`);
  return out;
}

/** A generator rendering `base` with the room's tuned weights (the caller disposes it). */
export function applyPtiWeights(base: BaseModel, bytes: Uint8Array): ImageGenerator {
  return overlayGenerator(base, ptiTunedTensors(base, bytes));
}
