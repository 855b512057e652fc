/** The flexible-region mask, brought to feature resolution for the fixed-region term. */
import * as tf from '@tensorflow/tfjs';

/**
 * mask: imageHeight x imageWidth bytes, non-zero = may change. Returns (1 - area-averaged mask) at feature
 * resolution, [1, height, width, 1]: the weight each feature cell's change is penalised with. Each image pixel
 * belongs to the feature cell its centre falls in, so any ratio of image to feature size works per axis.
 */
export function maskToFixedWeights(mask: Uint8Array, imageWidth: number, imageHeight: number, height: number, width: number): tf.Tensor4D {
  const fixed = new Float32Array(height * width);
  const pixels = new Float32Array(height * width);
  for (let y = 0; y < imageHeight; y++) {
    const fy = Math.min(Math.floor(((y + 0.5) * height) / imageHeight), height - 1);
    for (let x = 0; x < imageWidth; x++) {
      const cell = fy * width + Math.min(Math.floor(((x + 0.5) * width) / imageWidth), width - 1);
      pixels[cell] += 1;
      if (mask[y * imageWidth + x] === 0) fixed[cell] += 1;
    }
  }
  for (let i = 0; i < fixed.length; i++) fixed[i] = pixels[i] > 0 ? fixed[i] / pixels[i] : 0;
  return tf.tensor4d(fixed, [1, height, width, 1]);
}
