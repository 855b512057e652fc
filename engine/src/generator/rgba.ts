/** Generator output -> display bytes, and the latent checks every architecture shares. */
import * as tf from '@tensorflow/tfjs';
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

/** Renders a w+ latent (numWs x wDim, row-major) through `image` to RGBA bytes, freeing every tensor. */
export function renderLatent(gen: { numWs: number; wDim: number; image(ws: tf.Tensor2D): tf.Tensor4D }, latent: Float32Array): RGBAImage {
  const img = tf.tidy(() => gen.image(tf.tensor2d(latent, [gen.numWs, gen.wDim])));
  const out = imageToRGBA(img);
  img.dispose();
  return out;
}

/** Why a w+ latent cannot be used with numWs x wDim (wrong type or size, non-finite values), or undefined. */
export function latentProblem(latent: Float32Array, numWs: number, wDim: number): string | undefined {
  if (!(latent instanceof Float32Array)) return 'latent must be a Float32Array';
  if (latent.length !== numWs * wDim) return `latent has ${latent.length} values, expected ${numWs} x ${wDim} = ${numWs * wDim}`;
  for (let i = 0; i < latent.length; i++) if (!Number.isFinite(latent[i])) return `latent value ${i} is not finite`;
  return undefined;
}
