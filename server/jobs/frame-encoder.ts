/** Encodes RGBA pixels for the wire (WebP/JPEG frames) and for storage (PNG), with sharp (libvips). */
import sharp from 'sharp';
import type { EncodedImage } from '../../contract/events.js';
import type { FrameFormat } from './worker-protocol.js';

// One libvips thread per encode: the worker pool already provides the parallelism, and the machine has 2 cores.
sharp.concurrency(1);
sharp.cache(false);

export interface RGBA {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

export async function encodeImage(img: RGBA, format: FrameFormat | 'png' | 'webp-lossless', quality = 80): Promise<EncodedImage & { bytes: Uint8Array }> {
  const raw = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  let pipeline = sharp(raw, { raw: { width: img.width, height: img.height, channels: 4 } }).removeAlpha();
  if (format === 'webp-lossless') pipeline = pipeline.webp({ lossless: true, effort: 2 });
  else if (format === 'webp') pipeline = pipeline.webp({ quality, effort: 2 });
  else if (format === 'jpeg') pipeline = pipeline.jpeg({ quality, chromaSubsampling: '4:4:4' });
  else pipeline = pipeline.png({ compressionLevel: 6 });
  const buf = await pipeline.toBuffer();
  // A copy of our own: the bytes get transferred to another thread, which must never detach a shared pool.
  return { bytes: new Uint8Array(buf), mime: format === 'webp-lossless' ? 'image/webp' : `image/${format}`, width: img.width, height: img.height };
}
