/**
 * Resizes RGBA images for the diffusion benchmark, whose models may work at another size than the 128 px
 * case images (the detector and the fidelity metrics need the case size). Lanczos, as the engine's
 * fitImage uses for photos.
 */
import sharp from 'sharp';
import type { RGBAImage } from '../engine/src/index.js';

export async function resizeRGBA(img: RGBAImage, size: number): Promise<RGBAImage> {
  if (img.width === size && img.height === size) return img;
  const data = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 4 } })
    .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return { width: size, height: size, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength) };
}
