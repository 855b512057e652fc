/**
 * Loads a generator from a .safetensors file (or a directory holding model.safetensors). Every expected
 * tensor's presence, shape and dtype is checked before any is used; the first problem is reported by name.
 * Only local files are read: nothing is ever fetched.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelLoadError } from '../errors.js';
import { parseSafetensors, SafetensorsError, type SafetensorsFile } from '../io/safetensors.js';
import { createGenerator } from '../generator/index.js';
import type { ImageGenerator } from '../generator/types.js';
import { CONFIG_METADATA_KEY, expectedParams, validateConfig, type ModelConfig } from './config.js';

export const MODEL_FILE_NAME = 'model.safetensors';

/**
 * Buffers official state dicts carry that the engine does not read, by name suffix and shape. Anything else
 * a file holds beyond its config's tensors is an error, so a wrong config cannot load silently.
 */
const IGNORABLE_BUFFERS: Array<{ suffix: string; shapeOk: (shape: number[]) => boolean; why: string }> = [
  // StyleGAN2's constant [1,3,3,1] FIR filter, implied by the architecture.
  { suffix: '.resample_filter', shapeOk: (s) => s.length === 2 && s[0] === 4 && s[1] === 4, why: 'fixed FIR filter' },
  // StyleGAN3's running average of input magnitudes: StyleGAN3 configs list it (it scales each layer's
  // input), so this only lets a file that carries it under another architecture's config through.
  { suffix: '.magnitude_ema', shapeOk: (s) => s.length === 0 || (s.length === 1 && s[0] === 1), why: 'training statistic' },
];

export function isIgnorableBuffer(name: string, shape: number[]): boolean {
  return IGNORABLE_BUFFERS.some((b) => name.endsWith(b.suffix) && b.shapeOk(shape));
}

/** The bundled model, shipped in the repository (models/faces128). */
export function defaultModelPath(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  return path.join(root, 'models', 'faces128', MODEL_FILE_NAME);
}

export async function resolveModelFile(p: string): Promise<string> {
  let info;
  try {
    info = await stat(p);
  } catch {
    throw new ModelLoadError(`model not found: ${p}`);
  }
  return info.isDirectory() ? path.join(p, MODEL_FILE_NAME) : p;
}

/** Checks a parsed file against its own config; returns the config. */
export function checkModelFile(file: SafetensorsFile, source: string): ModelConfig {
  const rawConfig = file.metadata[CONFIG_METADATA_KEY];
  if (rawConfig === undefined) throw new ModelLoadError(`${source}: no '${CONFIG_METADATA_KEY}' entry in the safetensors metadata`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawConfig);
  } catch (err) {
    throw new ModelLoadError(`${source}: config metadata is not valid JSON (${(err as Error).message})`);
  }
  const config = validateConfig(parsed);
  const expected = expectedParams(config);
  const names = new Set(expected.map((s) => s.name));
  for (const spec of expected) {
    const t = file.tensors.get(spec.name);
    if (!t) throw new ModelLoadError(`${source}: missing tensor '${spec.name}' (expected shape [${spec.shape}])`);
    // A scalar may also arrive as a one-element vector (some converters cannot write rank-0 tensors).
    const scalarAsVector = spec.shape.length === 0 && t.shape.length === 1 && t.shape[0] === 1;
    if (!scalarAsVector && (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i]))) {
      throw new ModelLoadError(`${source}: tensor '${spec.name}' has shape [${t.shape}], expected [${spec.shape}]`);
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) throw new ModelLoadError(`${source}: tensor '${spec.name}' holds a non-finite value at index ${i}`);
    }
  }
  for (const [name, t] of file.tensors) {
    if (names.has(name)) continue;
    if (isIgnorableBuffer(name, t.shape)) continue;
    throw new ModelLoadError(`${source}: unexpected tensor '${name}' for this config`);
  }
  return config;
}

export function generatorFromBytes(bytes: Uint8Array, source: string): ImageGenerator {
  let file: SafetensorsFile;
  try {
    file = parseSafetensors(bytes);
  } catch (err) {
    if (err instanceof SafetensorsError) throw new ModelLoadError(`${source}: corrupt safetensors file: ${err.message}`);
    throw err;
  }
  const config = checkModelFile(file, source);
  return createGenerator(config, (name) => file.tensors.get(name)!);
}

/** Loads a model from a .safetensors file or a directory containing model.safetensors. */
export async function loadGenerator(p: string = defaultModelPath()): Promise<ImageGenerator> {
  const file = await resolveModelFile(p);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ModelLoadError(`cannot read model file ${file}: ${(err as Error).message}`);
  }
  return generatorFromBytes(bytes, file);
}
