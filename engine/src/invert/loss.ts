/** The reconstruction loss between a generated image and the target, both [1, H, W, 3] in [-1, 1]. */
import * as tf from '@tensorflow/tfjs';
import type { RGBAImage } from '../drag/types.js';

/** RGBA bytes -> [1, H, W, 3] in the generator's range (the inverse of imageToRGBA's x * 127.5 + 128). */
export function rgbaToTensor(image: RGBAImage): tf.Tensor4D {
  const { width: w, height: h, data } = image;
  const out = new Float32Array(w * h * 3);
  for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = (data[p * 4 + c] - 128) / 127.5;
  return tf.tensor4d(out, [1, h, w, 3]);
}

/** Box downsampling by an integer factor through reshape + mean, whose gradient every backend has. */
export function boxDown(x: tf.Tensor4D, f: number): tf.Tensor4D {
  if (f === 1) return x;
  const [n, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [n, h / f, f, w / f, f, c]), [2, 4]) as tf.Tensor4D;
}

/** Downsampling factors 1, 2, 4, 8 that divide the image and leave at least 8 pixels a side. */
export function lossScales(width: number, height: number): number[] {
  return [1, 2, 4, 8].filter((f) => width % f === 0 && height % f === 0 && width / f >= 8 && height / f >= 8);
}

/** Sum over scales of the mean squared error: the 'pixel-multiscale' loss. */
export function pixelMultiscaleLoss(image: tf.Tensor4D, target: tf.Tensor4D, scales: number[]): tf.Scalar {
  let loss: tf.Scalar | undefined;
  for (const f of scales) {
    const term = tf.mean(tf.squaredDifference(boxDown(image, f), boxDown(target, f))) as tf.Scalar;
    loss = loss ? (tf.add(loss, term) as tf.Scalar) : term;
  }
  return loss!;
}
