/**
 * Where the image sits on the stage: the canvas keeps the image's aspect ratio inside the space it is given,
 * and pointer positions map to image pixels on each axis by the same scale (CSS pixels per image pixel).
 * Brush radii are in image pixels, so a brush covers the same image area at any stage size.
 */
import type { ImageSize, Point } from '../../contract/events';

/** The smallest stage side, in CSS pixels. */
const MIN_SIDE = 160;

/** The largest CSS box of the image's aspect ratio inside `box`, and its scale. */
export function fitStage(box: { width: number; height: number }, size: ImageSize): { width: number; height: number; scale: number } {
  if (!(size.width > 0 && size.height > 0)) return { width: MIN_SIDE, height: MIN_SIDE, scale: 1 };
  const scale = Math.max(MIN_SIDE / Math.min(size.width, size.height), Math.min(box.width / size.width, box.height / size.height));
  return { width: Math.floor(size.width * scale), height: Math.floor(size.height * scale), scale };
}

/** A pointer position (relative to the canvas's box, in CSS pixels) in image pixels, as floats. */
export function cssToImage(x: number, y: number, rect: { width: number; height: number }, size: ImageSize): Point {
  return [(x * size.width) / rect.width - 0.5, (y * size.height) / rect.height - 0.5];
}

/** The image pixel a pointer position falls on, clamped into the image on each axis. */
export function cssToPixel(x: number, y: number, rect: { width: number; height: number }, size: ImageSize): Point {
  const [fx, fy] = cssToImage(x, y, rect, size);
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, Math.round(v)));
  return [clamp(fx, size.width), clamp(fy, size.height)];
}

/** An image point's centre in the canvas's box (CSS pixels). */
export function imageToCss(p: Point, rect: { width: number; height: number }, size: ImageSize): [number, number] {
  return [((p[0] + 0.5) * rect.width) / size.width, ((p[1] + 0.5) * rect.height) / size.height];
}
