/**
 * Photos with a known face: a procedural face of the faces model's training data (training/faces, version 1)
 * resized into a busy background (a noisy gradient under random rectangles) at a chosen square, and
 * backgrounds alone. Deterministic in their seeds.
 */
import { renderFace, sampleFaceParams } from '../training/faces/index.js';
import { mulberry32 } from '../training/faces/prng.js';
import type { RGBAImage } from '../engine/src/index.js';

export function background(width: number, height: number, seed: number): RGBAImage {
  const r = mulberry32(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  const c0 = [r() * 255, r() * 255, r() * 255];
  const c1 = [r() * 255, r() * 255, r() * 255];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height);
      const p = 4 * (y * width + x);
      for (let c = 0; c < 3; c++) data[p + c] = c0[c] * (1 - t) + c1[c] * t + (r() - 0.5) * 30;
      data[p + 3] = 255;
    }
  }
  for (let k = 0; k < 12; k++) {
    const rx = r() * width, ry = r() * height, rw = (r() * width) / 3, rh = (r() * height) / 3;
    const col = [r() * 255, r() * 255, r() * 255];
    for (let y = Math.floor(ry); y < Math.min(height, ry + rh); y++) {
      for (let x = Math.floor(rx); x < Math.min(width, rx + rw); x++) for (let c = 0; c < 3; c++) data[4 * (y * width + x) + c] = col[c];
    }
  }
  return { width, height, data };
}

/** Pastes face `seed` (its 128 px training frame, nearest-neighbour resized) as the square side x side at (left, top). */
export function pasteFace(image: RGBAImage, seed: number, left: number, top: number, side: number): void {
  const face = renderFace(sampleFaceParams(seed, 1), 128);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const X = left + x, Y = top + y;
      if (X < 0 || Y < 0 || X >= image.width || Y >= image.height) continue;
      const u = Math.min(127, Math.floor(((x + 0.5) * 128) / side));
      const v = Math.min(127, Math.floor(((y + 0.5) * 128) / side));
      const p = 4 * (Y * image.width + X), q = 3 * (v * 128 + u);
      image.data[p] = face.rgb[q];
      image.data[p + 1] = face.rgb[q + 1];
      image.data[p + 2] = face.rgb[q + 2];
    }
  }
}
