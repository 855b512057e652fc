/**
 * user_drag.png: DragBench's picture of a case for people. As DragDiffusion's labelling tool draws it, the
 * region that must stay fixed is darkened by 30%, handles are red dots, targets blue dots, and a white arrow
 * runs from each handle to its target. Nothing reads this file back; its pixels only need to be legible.
 */
import type { Point, PointPair, RGBAImage } from '../drag/types.js';

type RGB = [number, number, number];

const FIXED_DIM = 0.7;
const HANDLE: RGB = [255, 0, 0];
const TARGET: RGB = [0, 0, 255];
const ARROW: RGB = [255, 255, 255];

function disc(img: RGBAImage, [cx, cy]: Point, radius: number, color: RGB): void {
  const r2 = radius * radius;
  for (let y = Math.max(0, Math.floor(cy - radius)); y <= Math.min(img.height - 1, Math.ceil(cy + radius)); y++) {
    for (let x = Math.max(0, Math.floor(cx - radius)); x <= Math.min(img.width - 1, Math.ceil(cx + radius)); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 > r2) continue;
      const o = (y * img.width + x) * 4;
      img.data[o] = color[0];
      img.data[o + 1] = color[1];
      img.data[o + 2] = color[2];
      img.data[o + 3] = 255;
    }
  }
}

/** A thick segment as discs along it: simple, and each pixel is at most a few discs deep. */
function segment(img: RGBAImage, a: Point, b: Point, thickness: number, color: RGB): void {
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
  const steps = Math.max(1, Math.ceil(length));
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    disc(img, [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t], thickness / 2, color);
  }
}

export function drawUserDrag(image: RGBAImage, points: PointPair[], mask: Uint8Array): RGBAImage {
  const out: RGBAImage = { width: image.width, height: image.height, data: new Uint8ClampedArray(image.data) };
  for (let p = 0; p < mask.length; p++) {
    if (mask[p]) continue;
    for (let c = 0; c < 3; c++) out.data[p * 4 + c] = out.data[p * 4 + c] * FIXED_DIM;
  }
  const size = Math.max(2, Math.round(Math.min(image.width, image.height) / 128));
  for (const { handle, target } of points) {
    segment(out, handle, target, size, ARROW);
    const length = Math.hypot(target[0] - handle[0], target[1] - handle[1]);
    if (length > 0) {
      // The head: two strokes back from the target at +-30 degrees, half the arrow long (cv2's tipLength=0.5).
      const angle = Math.atan2(handle[1] - target[1], handle[0] - target[0]);
      for (const side of [-Math.PI / 6, Math.PI / 6]) {
        const tip: Point = [target[0] + Math.cos(angle + side) * length * 0.5, target[1] + Math.sin(angle + side) * length * 0.5];
        segment(out, target, tip, size, ARROW);
      }
    }
    disc(out, handle, size * 2.5, HANDLE);
    disc(out, target, size * 2.5, TARGET);
  }
  return out;
}
