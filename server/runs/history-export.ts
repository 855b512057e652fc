/**
 * Downloads built from stored history (issue 5): a step's frame as PNG, a run as an animated WebP or GIF
 * (sharp writes both from raw frames stacked as pages), and the GoodDrag/DragBench-style points and mask.
 */
import sharp from 'sharp';
import { PNG } from 'pngjs';
import type { Point } from '../protocol/events.js';

export async function toPng(image: Uint8Array): Promise<Buffer> {
  return sharp(image).png({ compressionLevel: 6 }).toBuffer();
}

/**
 * Which of a run's `count` stored steps an animation shows: all of them up to `maxFrames`, else `maxFrames`
 * spread evenly from the first to the last (the start and the result are always in).
 */
export function sampleSteps(count: number, maxFrames: number): number[] {
  const n = Math.max(0, Math.min(count, Math.floor(maxFrames)));
  if (n === count) return Array.from({ length: count }, (_, i) => i);
  if (n <= 1) return n === 1 ? [count - 1] : [];
  return Array.from({ length: n }, (_, i) => Math.round((i * (count - 1)) / (n - 1)));
}

/**
 * Stored frames (any format sharp reads, all `width` x `height`) as one animation; `delayMs` between frames,
 * looping forever. Decoding and encoding run on libuv's threads; what stays on the event loop is copying
 * each decoded frame (tens of kB) into place as it arrives, never one large copy.
 */
export async function animation(frames: Uint8Array[], format: 'webp' | 'gif', delayMs: number, size: { width: number; height: number }): Promise<Buffer> {
  if (frames.length === 0) throw new Error('no frames');
  const { width, height } = size;
  const pageBytes = width * height * 3;
  const pages = Buffer.allocUnsafe(pageBytes * frames.length);
  const fits = await Promise.all(
    frames.map(async (f, i) => {
      const r = await sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      if (r.info.width !== width || r.info.height !== height || r.info.channels !== 3) return false;
      r.data.copy(pages, pageBytes * i);
      return true;
    }),
  );
  // A frame of another size (none in practice: one room, one model) is left out.
  let kept = 0;
  fits.forEach((ok, i) => ok && (i !== kept ? pages.copyWithin(pageBytes * kept++, pageBytes * i, pageBytes * (i + 1)) : kept++));
  if (kept === 0) throw new Error('no frame of the expected size');
  const pipeline = sharp(pages.subarray(0, pageBytes * kept), { raw: { width, height: height * kept, channels: 3, pageHeight: height } });
  const delay = new Array<number>(kept).fill(delayMs);
  return format === 'webp'
    ? pipeline.webp({ lossless: true, loop: 0, delay, effort: 2 }).toBuffer()
    : pipeline.gif({ loop: 0, delay }).toBuffer();
}

/** DragBench/GoodDrag points file: handle and target alternating. */
export function dragBenchPoints(pairs: { handle: Point; target: Point }[]): { points: Point[] } {
  return { points: pairs.flatMap((p) => [p.handle, p.target]) };
}

/** The mask as a black/white PNG (255 where the image may change); all white when no mask was painted. */
export function maskPng(mask: Uint8Array | null | undefined, resolution: number): Buffer {
  const png = new PNG({ width: resolution, height: resolution, colorType: 0, inputHasAlpha: false, bitDepth: 8 });
  for (let i = 0; i < resolution * resolution; i++) {
    const v = mask ? (mask[i] ? 255 : 0) : 255;
    png.data[i * 4] = png.data[i * 4 + 1] = png.data[i * 4 + 2] = v;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 0 });
}
