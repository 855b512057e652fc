/**
 * What makes a model loadable, in one place for the loader and the importer: a config that validates (for
 * its architecture) and exactly the tensors it implies, each with its shape, holding finite values. The
 * importer runs the same checks before writing, so an import that would not load fails with the message
 * the loader would give.
 */
import { ModelLoadError } from '../errors.js';
import { expectedParams, validateConfig, type ModelConfig } from './config.js';

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

/** Validates a parsed config and the tensors' names and shapes against it; returns the typed config. */
export function checkModel(rawConfig: unknown, tensors: ReadonlyMap<string, { shape: number[] }>, source: string): ModelConfig {
  const config = validateConfig(rawConfig);
  const expected = expectedParams(config);
  const names = new Set(expected.map((s) => s.name));
  for (const spec of expected) {
    const t = tensors.get(spec.name);
    if (!t) throw new ModelLoadError(`${source}: missing tensor '${spec.name}' (expected shape [${spec.shape}])`);
    // A scalar may also arrive as a one-element vector (some converters cannot write rank-0 tensors).
    const scalarAsVector = spec.shape.length === 0 && t.shape.length === 1 && t.shape[0] === 1;
    if (!scalarAsVector && (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i]))) {
      throw new ModelLoadError(`${source}: tensor '${spec.name}' has shape [${t.shape}], expected [${spec.shape}]`);
    }
  }
  for (const [name, t] of tensors) {
    if (names.has(name) || isIgnorableBuffer(name, t.shape)) continue;
    throw new ModelLoadError(`${source}: unexpected tensor '${name}' for this config`);
  }
  return config;
}

export function checkFinite(name: string, data: ArrayLike<number>, source: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new ModelLoadError(`${source}: tensor '${name}' holds a non-finite value at index ${i}`);
  }
}
