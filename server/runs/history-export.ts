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

/** Stored frames (any format sharp reads) as one animation; `delayMs` between frames, looping forever. */
export async function animation(frames: Uint8Array[], format: 'webp' | 'gif', delayMs = 100): Promise<Buffer> {
  if (frames.length === 0) throw new Error('no frames');
  const raws = await Promise.all(frames.map((f) => sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  const { width, height } = raws[0].info;
  const pages = raws.filter((r) => r.info.width === width && r.info.height === height).map((r) => r.data);
  const pipeline = sharp(Buffer.concat(pages), { raw: { width, height: height * pages.length, channels: 3, pageHeight: height } });
  const delay = pages.map(() => delayMs);
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
