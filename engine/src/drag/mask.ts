/** The flexible-region mask, brought to feature resolution for the fixed-region term. */
import * as tf from '@tensorflow/tfjs';

/**
 * mask: image-resolution bytes, non-zero = may change. Returns (1 - area-averaged mask) at feature
 * resolution, [1, h, w, 1]: the weight each feature cell's change is penalised with.
 */
export function maskToFixedWeights(mask: Uint8Array, imageSize: number, height: number, width: number): tf.Tensor4D {
  const out = new Float32Array(height * width);
  const sy = imageSize / height;
  const sx = imageSize / width;
  for (let y = 0; y < imageSize; y++) {
    for (let x = 0; x < imageSize; x++) {
      if (mask[y * imageSize + x] !== 0) continue;
      out[Math.floor(y / sy) * width + Math.floor(x / sx)] += 1;
    }
  }
  const cell = sx * sy;
  for (let i = 0; i < out.length; i++) out[i] /= cell;
  return tf.tensor4d(out, [1, height, width, 1]);
}
