/** The loader's checks applied to a model about to be written by the importer (engine/src/model/check-model.ts). */
import { ModelLoadError } from '../errors.js';
import { checkFinite, checkModel } from '../model/check-model.js';
import { CheckpointImportError } from './errors.js';
import type { ConfigObject } from './generator-config.js';
import type { TensorToStream } from './safetensors-writer.js';

function asImportError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ModelLoadError) throw new CheckpointImportError(`the imported model would not load: ${err.message}`);
    throw err;
  }
}

/**
 * The loader's own checks (config, tensor names and shapes) before anything is written, and its finite-value
 * check on each tensor as it streams out (a failure removes the partial file), so an import that would not
 * load fails here with the loader's message.
 */
export function checkLoadable(config: ConfigObject, tensors: Map<string, TensorToStream>, modelFile: string): Map<string, TensorToStream> {
  asImportError(() => checkModel(JSON.parse(JSON.stringify(config)), tensors, modelFile));
  const checked = (name: string, t: TensorToStream) => (): Float32Array => {
    const data = t.values();
    asImportError(() => checkFinite(name, data, modelFile));
    return data;
  };
  return new Map([...tensors].map(([name, t]) => [name, { shape: t.shape, values: checked(name, t) }]));
}
