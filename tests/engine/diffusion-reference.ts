// Reading the reference tensors training/reference/diffusion_drag_reference.py writes next to the tiny
// diffusion fixture.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll } from 'vitest';
import { initBackend, loadDiffusionFolder, parseSafetensors, type DiffusionModels } from '../../engine/src/index.js';

export const TINY_DIR = path.join(__dirname, '..', 'fixtures', 'diffusion', 'tiny');

const cache = new Map<string, Map<string, { shape: number[]; data: Float32Array }>>();

export function reference(file: string, name: string): { shape: number[]; data: Float32Array } {
  let tensors = cache.get(file);
  if (!tensors) {
    tensors = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(TINY_DIR, file)))).tensors;
    cache.set(file, tensors);
  }
  const t = tensors.get(name);
  if (!t) throw new Error(`${file} has no '${name}'`);
  return t;
}

/** A reference NCHW tensor as NHWC, the engine's layout. */
export function nhwc(file: string, name: string): tf.Tensor4D {
  const t = reference(file, name);
  return tf.tidy(() => tf.transpose(tf.tensor4d(t.data, t.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** The fixture's text context for its first prompt, [1, tokens, d]. */
export function tinyContext(): tf.Tensor3D {
  const c = reference('reference.safetensors', 'unet.encoder_hidden_states');
  return tf.tensor3d(c.data.subarray(0, c.shape[1] * c.shape[2]), [1, c.shape[1], c.shape[2]]);
}


/**
 * The tiny fixture's UNet and its first prompt's text context on wasm, loaded before the calling describe
 * block's tests and freed after them.
 */
export function tinyUNetFixture(): { readonly unet: NonNullable<DiffusionModels['unet']>; readonly context: tf.Tensor3D } {
  let models: DiffusionModels | undefined;
  let context: tf.Tensor3D | undefined;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    models = loadDiffusionFolder(TINY_DIR, ['unet']);
    context = tinyContext();
  }, 120_000);
  afterAll(() => {
    context?.dispose();
    models?.dispose();
  });
  return {
    get unet() {
      return models!.unet!;
    },
    get context() {
      return context!;
    },
  };
}
