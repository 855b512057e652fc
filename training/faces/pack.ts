// Dataset file writing: raw tensors streamed to disk in batches (30k images are 1.4 GB,
// so nothing is held in memory), PNG helpers, and meta.json written last and atomically
// because the trainer polls for it as the "dataset complete" signal.
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';

export function encodePng(rgb: Uint8Array, w: number, h: number): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let i = 0, j = 0; i < w * h; i++, j += 3) {
    png.data[4 * i] = rgb[j];
    png.data[4 * i + 1] = rgb[j + 1];
    png.data[4 * i + 2] = rgb[j + 2];
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** Tile square RGB images into a cols-wide grid (missing cells stay black). */
export function makeGrid(images: Uint8Array[], size: number, cols: number): { rgb: Uint8Array; w: number; h: number } {
  const rows = Math.max(1, Math.ceil(images.length / cols));
  const w = cols * size, h = rows * size;
  const rgb = new Uint8Array(w * h * 3);
  images.forEach((img, k) => {
    const ox = (k % cols) * size, oy = Math.floor(k / cols) * size;
    for (let y = 0; y < size; y++) {
      rgb.set(img.subarray(y * size * 3, (y + 1) * size * 3), ((oy + y) * w + ox) * 3);
    }
  });
  return { rgb, w, h };
}

export class TensorFile {
  private fd: number;
  private chunks: Uint8Array[] = [];
  private pending = 0;
  constructor(file: string, private flushBytes = 8 << 20) {
    this.fd = fs.openSync(file, 'w');
  }
  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.pending += bytes.byteLength;
    if (this.pending >= this.flushBytes) this.flush();
  }
  flush(): void {
    if (this.pending === 0) return;
    const buf = Buffer.concat(this.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off);
    this.chunks = [];
    this.pending = 0;
  }
  close(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}

/** Float32 little-endian bytes regardless of host endianness. */
export function f32le(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i], true);
  return out;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}
