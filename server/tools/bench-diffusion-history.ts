/**
 * What a diffusion drag's history costs per step: the step latent (float16, H/8 x W/8 x 4) and its lossless frame,
 * either a VAE decode (here: a photo-like image at the size) or the latent preview scaled up (here: the same image
 * at latent resolution, blown up by nearest neighbour, as diffusion-drag-job.ts stores it). Frames are encoded as
 * the worker encodes them. Run: npx tsx server/tools/bench-diffusion-history.ts [image.png]
 */
import sharp from 'sharp';
import { resolve } from 'node:path';
import { upscaleNearest } from '../jobs/diffusion-drag-job.js';
import { encodeImage } from '../jobs/frame-encoder.js';

const src = process.argv[2] ?? resolve(import.meta.dirname, '../../docs/models/faces128-samples-psi10.png');

/** Uniform noise: what lossless WebP cannot compress, the upper bound of a frame's size. */
function noise(side: number) {
  const data = new Uint8ClampedArray(side * side * 4);
  let x = 12345;
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return { width: side, height: side, data };
}

async function rgba(side: number) {
  const { data } = await sharp(src).extract({ left: 0, top: 0, width: 128, height: 128 }).resize(side, side).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: side, height: side, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength) };
}

console.log('| image | latent (f16) | decoded frame (lossless WebP) | preview frame (lossless WebP) | noise frame (upper bound) |');
console.log('| --- | --- | --- | --- | --- |');
for (const side of [256, 512]) {
  const decoded = await encodeImage(await rgba(side), 'webp-lossless');
  const preview = await encodeImage(upscaleNearest(await rgba(side / 8), side, side), 'webp-lossless');
  // Half floats (server/rooms/float16.ts): 2 bytes a value.
  const latent = (side / 8) ** 2 * 4 * 2;
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const worst = await encodeImage(noise(side), 'webp-lossless');
  console.log(`| ${side} px | ${kb(latent)} | ${kb(decoded.bytes.byteLength)} | ${kb(preview.bytes.byteLength)} | ${kb(worst.bytes.byteLength)} |`);
}
