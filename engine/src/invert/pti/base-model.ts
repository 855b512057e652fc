/**
 * The base model pivotal tuning starts from: its config, its tensors in the model file's layout, and an
 * identity (the SHA-256 of the model file) that a room's tuned-weights delta records, so a delta is never
 * applied to a different model.
 */
import { createHash } from 'node:crypto';
import { ModelLoadError } from '../../errors.js';
import { parseModelFile, readModelFile } from '../../model/load.js';
import type { ModelConfig } from '../../model/config.js';
import type { ParamSource } from '../../generator/types.js';

export interface BaseModel {
  config: ModelConfig;
  /** 'sha256:' + the hex digest of the model file's bytes. */
  id: string;
  /** Reads a tensor by its official state-dict name (fp32, PyTorch layout). */
  get: ParamSource;
}

export function modelId(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A base model from the bytes of a model file (checked as the loader checks it). */
export function baseModelFromBytes(bytes: Uint8Array, source: string): BaseModel {
  const { file, config } = parseModelFile(bytes, source);
  return {
    config,
    id: modelId(bytes),
    get: (name) => {
      const t = file.tensors.get(name);
      if (!t) throw new ModelLoadError(`${source}: no tensor '${name}'`);
      return t;
    },
  };
}

/** A base model from a .safetensors file or a directory holding model.safetensors. */
export async function loadBaseModel(p: string): Promise<BaseModel> {
  const { file, bytes } = await readModelFile(p);
  return baseModelFromBytes(bytes, file);
}
