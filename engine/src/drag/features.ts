/**
 * A feature map read back to JS ([H*W, C] rows) and the mapping between image pixels and feature cells.
 * Tracking and supervision references need no gradient, so they work on this copy instead of issuing many
 * small tensor ops.
 */
import { bilinearTaps, sampleRowsCpu } from '../ops/sample.js';
import type { Point } from './types.js';

export interface FeatureMap {
  rows: Float32Array;
  height: number;
  width: number;
  channels: number;
  /** Image size the map is aligned to (per axis: a map need not have the image's aspect ratio). */
  imageWidth: number;
  imageHeight: number;
}

/** Image pixel coordinate -> feature-map coordinate (bilinear resize with align_corners=False). */
export function toFeatureCoord(v: number, imageSize: number, featureSize: number): number {
  return ((v + 0.5) * featureSize) / imageSize - 0.5;
}

/** Features at image-pixel points, [n, C] row-major. */
export function sampleAt(map: FeatureMap, points: Point[]): Float32Array {
  const xs = points.map((p) => toFeatureCoord(p[0], map.imageWidth, map.width));
  const ys = points.map((p) => toFeatureCoord(p[1], map.imageHeight, map.height));
  return sampleRowsCpu(map.rows, map.channels, bilinearTaps(xs, ys, map.height, map.width));
}

/** Integer offsets (dx, dy) with |offset| < radius, the disc DragGAN supervises around a handle. */
export function discOffsets(radius: number): Point[] {
  const out: Point[] = [];
  const r = Math.ceil(radius);
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy < radius * radius) out.push([dx, dy]);
  return out;
}

/** Points of the square window of radius r around p, clamped to the image (duplicates removed). */
export function windowPoints(p: Point, r: number, imageWidth: number, imageHeight: number): Point[] {
  const out: Point[] = [];
  const seen = new Set<string>();
  const cx = Math.round(p[0]);
  const cy = Math.round(p[1]);
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      const x = Math.min(Math.max(cx + dx, 0), imageWidth - 1);
      const y = Math.min(Math.max(cy + dy, 0), imageHeight - 1);
      const key = `${x},${y}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push([x, y]);
    }
  }
  return out;
}

export function l2Normalize(vectors: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(vectors.length);
  for (let i = 0; i < vectors.length; i += channels) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += vectors[i + c] * vectors[i + c];
    const inv = 1 / Math.sqrt(s + 1e-12);
    for (let c = 0; c < channels; c++) out[i + c] = vectors[i + c] * inv;
  }
  return out;
}
