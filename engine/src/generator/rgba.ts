/** Generator output -> display bytes. */
import type * as tf from '@tensorflow/tfjs';
import type { RGBAImage } from '../drag/types.js';

/** [1, H, W, 3] in about [-1, 1] -> RGBA bytes, rounding as StyleGAN2's scripts do (x * 127.5 + 128, truncated). */
export function imageToRGBA(img: tf.Tensor4D): RGBAImage {
  return pixelsToRGBA(img.dataSync() as Float32Array, img.shape);
}

/** imageToRGBA with an awaited read, for backends that cannot read synchronously (webgpu). */
export async function imageToRGBAAsync(img: tf.Tensor4D): Promise<RGBAImage> {
  return pixelsToRGBA((await img.data()) as Float32Array, img.shape);
}

function pixelsToRGBA(src: Float32Array, [, h, w]: number[]): RGBAImage {
  const data = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.trunc(Math.min(255, Math.max(0, src[p * 3 + c] * 127.5 + 128)));
    data[p * 4 + 3] = 255;
  }
  return { width: w, height: h, data };
}
