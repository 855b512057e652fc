// How the engine's parity tests compare a tensor with a reference computed outside the repository: the largest
// absolute difference relative to the reference's largest absolute value (so one tolerance fits tensors of any scale).
import type * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

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

/** The relative error of an engine tensor against a reference tensor, after checking their shapes agree. */
export function tensorRelativeError(got: tf.Tensor, want: { shape: number[]; data: Float32Array }): number {
  expect(got.shape).toEqual(want.shape);
  return relativeError(got.dataSync(), want.data).relative;
}
