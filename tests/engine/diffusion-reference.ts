// Reading the reference tensors training/reference/diffusion_drag_reference.py writes next to the tiny
// diffusion fixture, and comparing engine tensors with them (max |diff| relative to the reference's largest).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseSafetensors } from '../../engine/src/index.js';

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

/** max |actual - expected| / max |expected| over the two arrays. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): { diff: number; scale: number; relative: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return { diff, scale, relative: diff / scale };
}
