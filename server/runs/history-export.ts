/**
 * Downloads built from stored history (issue 5): a step's frame as PNG, a run as an animated WebP or GIF
 * (sharp joins the stored frames as pages), and the GoodDrag/DragBench-style points and mask.
 */
import sharp from 'sharp';
import { PNG } from 'pngjs';
import type { ImageSize, Point } from '../../contract/events.js';

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
 * Stored frames (any format sharp reads, all the same size) as one animation; `delayMs` between frames,
 * looping forever. libvips decodes, joins and encodes them on its own threads in one pipeline: decoding
 * frame by frame from JavaScript costs the event loop about a millisecond per frame.
 */
export async function animation(frames: Uint8Array[], format: 'webp' | 'gif', delayMs = 100): Promise<Buffer> {
  if (frames.length === 0) throw new Error('no frames');
  const pipeline = sharp(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)), { join: { animated: true } });
  const delay = new Array<number>(frames.length).fill(delayMs);
  return format === 'webp'
    ? pipeline.webp({ lossless: true, loop: 0, delay, effort: 2 }).toBuffer()
    : pipeline.gif({ loop: 0, delay }).toBuffer();
}

/** DragBench/GoodDrag points file: handle and target alternating. */
export function dragBenchPoints(pairs: { handle: Point; target: Point }[]): { points: Point[] } {
  return { points: pairs.flatMap((p) => [p.handle, p.target]) };
}

/** The mask (row-major width x height) as a black/white PNG (255 where the image may change); all white when no mask was painted. */
export function maskPng(mask: Uint8Array | null | undefined, size: ImageSize): Buffer {
  const png = new PNG({ width: size.width, height: size.height, colorType: 0, inputHasAlpha: false, bitDepth: 8 });
  for (let i = 0; i < size.width * size.height; i++) {
    const v = mask ? (mask[i] ? 255 : 0) : 255;
    png.data[i * 4] = png.data[i * 4 + 1] = png.data[i * 4 + 2] = v;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 0 });
}
