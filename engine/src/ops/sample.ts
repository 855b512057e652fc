/**
 * Bilinear sampling of feature vectors at arbitrary points, differentiable with respect to the feature map.
 *
 * The map is viewed as rows [H*W, C]; each point gathers its four neighbours' rows and blends them. The
 * gradient is a scatter-add of the weighted output gradient back onto those rows: tfjs's own gather
 * gradient needs UnsortedSegmentSum, which wasm lacks, and slicing windows out of a large map is far slower
 * on wasm than gathering a few rows.
 */
import * as tf from '@tensorflow/tfjs';
import { unaryCustomGrad } from './custom-grad.js';

/** Four neighbour row indices and weights per point, computed on the JS side (points are constants). */
export interface BilinearTaps {
  /** [4 * n] row indices, tap-major (all first taps, then all second taps, ...). */
  indices: Int32Array;
  /** [4 * n] weights, same order. */
  weights: Float32Array;
  count: number;
}

/**
 * Taps for points given in feature-map coordinates (x right, y down, cell centres at integers), clamped to
 * the map, i.e. the align_corners=False, border-clamped convention of bilinear resizing.
 */
export function bilinearTaps(xs: ArrayLike<number>, ys: ArrayLike<number>, height: number, width: number): BilinearTaps {
  const n = xs.length;
  const indices = new Int32Array(4 * n);
  const weights = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = Math.min(Math.max(xs[i], 0), width - 1);
    const y = Math.min(Math.max(ys[i], 0), height - 1);
    const x0 = Math.min(Math.floor(x), width - 1);
    const y0 = Math.min(Math.floor(y), height - 1);
    const x1 = Math.min(x0 + 1, width - 1);
    const y1 = Math.min(y0 + 1, height - 1);
    const fx = x - x0;
    const fy = y - y0;
    const taps: Array<[number, number]> = [
      [y0 * width + x0, (1 - fx) * (1 - fy)],
      [y0 * width + x1, fx * (1 - fy)],
      [y1 * width + x0, (1 - fx) * fy],
      [y1 * width + x1, fx * fy],
    ];
    for (let t = 0; t < 4; t++) {
      indices[t * n + i] = taps[t][0];
      weights[t * n + i] = taps[t][1];
    }
  }
  return { indices, weights, count: n };
}

/** rows: [H*W, C]. Returns [n, C] bilinear samples. */
export function sampleRows(rows: tf.Tensor2D, taps: BilinearTaps): tf.Tensor2D {
  const [numRows, channels] = rows.shape;
  const n = taps.count;
  return unaryCustomGrad<tf.Tensor2D>(rows, (input, save) => {
    const idx = tf.tensor1d(taps.indices, 'int32');
    const w = tf.tensor3d(taps.weights, [4, n, 1]);
    const gathered = tf.reshape(tf.gather(input as tf.Tensor2D, idx), [4, n, channels]);
    const value = tf.sum(tf.mul(gathered, w), 0) as tf.Tensor2D;
    save([idx, w]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sIdx, sW] = saved;
        const updates = tf.reshape(tf.mul(tf.expandDims(dy, 0), sW), [4 * n, channels]);
        return tf.scatterND(tf.reshape(sIdx, [4 * n, 1]), updates, [numRows, channels]);
      },
    };
  });
}

/** The same bilinear sampling on plain arrays (rows row-major [H*W, C]); used for tracking, which needs no gradient. */
export function sampleRowsCpu(rows: Float32Array, channels: number, taps: BilinearTaps): Float32Array {
  const n = taps.count;
  const out = new Float32Array(n * channels);
  for (let t = 0; t < 4; t++) {
    for (let i = 0; i < n; i++) {
      const w = taps.weights[t * n + i];
      if (w === 0) continue;
      const src = taps.indices[t * n + i] * channels;
      const dst = i * channels;
      for (let c = 0; c < channels; c++) out[dst + c] += w * rows[src + c];
    }
  }
  return out;
}
