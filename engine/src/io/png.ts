/** PNG reading and writing (pngjs), plus the image grid the sample command writes. */
import { readFileSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { RGBAImage } from '../drag/types.js';

export function encodePng(image: RGBAImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png);
}

export function writePng(file: string, image: RGBAImage): void {
  writeFileSync(file, encodePng(image));
}

export function readPng(file: string): RGBAImage {
  const png = PNG.sync.read(readFileSync(file));
  return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data) };
}

/** Tiles images (all the same size) into a grid with `columns` columns. */
export function imageGrid(images: RGBAImage[], columns: number): RGBAImage {
  const { width: w, height: h } = images[0];
  const rows = Math.ceil(images.length / columns);
  const out: RGBAImage = { width: w * columns, height: h * rows, data: new Uint8ClampedArray(w * columns * h * rows * 4) };
  images.forEach((img, i) => {
    const ox = (i % columns) * w;
    const oy = Math.floor(i / columns) * h;
    for (let y = 0; y < h; y++) out.data.set(img.data.subarray(y * w * 4, (y + 1) * w * 4), ((oy + y) * out.width + ox) * 4);
  });
  return out;
}

/** A mask PNG (white = may change) of the model's image size -> bytes, 1 = flexible. */
export function maskFromPng(image: RGBAImage, width: number, height: number): Uint8Array {
  if (image.width !== width || image.height !== height) {
    throw new Error(`mask is ${image.width}x${image.height}, the model draws ${width}x${height}`);
  }
  const mask = new Uint8Array(width * height);
  for (let p = 0; p < mask.length; p++) {
    const d = image.data;
    mask[p] = (d[p * 4] + d[p * 4 + 1] + d[p * 4 + 2]) / 3 > 127 && d[p * 4 + 3] > 127 ? 1 : 0;
  }
  return mask;
}
