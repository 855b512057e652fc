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
import { checkFinite, checkModel } from './check-model.js';
import { CONFIG_METADATA_KEY, expectedParams, type ModelConfig } from './config.js';

export { isIgnorableBuffer } from './check-model.js';

export const MODEL_FILE_NAME = 'model.safetensors';

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

/** Checks a parsed file against its own config (check-model.ts); returns the config. */
export function checkModelFile(file: SafetensorsFile, source: string): ModelConfig {
  const rawConfig = file.metadata[CONFIG_METADATA_KEY];
  if (rawConfig === undefined) throw new ModelLoadError(`${source}: no '${CONFIG_METADATA_KEY}' entry in the safetensors metadata`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawConfig);
  } catch (err) {
    throw new ModelLoadError(`${source}: config metadata is not valid JSON (${(err as Error).message})`);
  }
  const config = checkModel(parsed, file.tensors, source);
  for (const spec of expectedParams(config)) checkFinite(spec.name, file.tensors.get(spec.name)!.data, source);
  return config;
}

/** Parses and checks the bytes of a model file: its tensors and its config, or a ModelLoadError naming `source`. */
export function parseModelFile(bytes: Uint8Array, source: string): { file: SafetensorsFile; config: ModelConfig } {
  let file: SafetensorsFile;
  try {
    file = parseSafetensors(bytes);
  } catch (err) {
    if (err instanceof SafetensorsError) throw new ModelLoadError(`${source}: corrupt safetensors file: ${err.message}`);
    throw err;
  }
  return { file, config: checkModelFile(file, source) };
}

export function generatorFromBytes(bytes: Uint8Array, source: string): ImageGenerator {
  const { file, config } = parseModelFile(bytes, source);
  return createGenerator(config, (name) => file.tensors.get(name)!);
}

/** The bytes of a model file given as a .safetensors file or a directory containing model.safetensors. */
export async function readModelFile(p: string): Promise<{ file: string; bytes: Uint8Array }> {
  const file = await resolveModelFile(p);
  try {
    return { file, bytes: await readFile(file) };
  } catch (err) {
    throw new ModelLoadError(`cannot read model file ${file}: ${(err as Error).message}`);
  }
}

/** Loads a model from a .safetensors file or a directory containing model.safetensors. */
export async function loadGenerator(p: string = defaultModelPath()): Promise<ImageGenerator> {
  const { file, bytes } = await readModelFile(p);
  return generatorFromBytes(bytes, file);
}
