// The public rendering entry point: params -> {rgb, landmarks}.
import type { FaceParams } from './params.js';
import { paintFace } from './face.js';
import { computeLandmarks } from './landmarks.js';

export interface RenderedFace {
  /** size*size*3 bytes, RGB, row-major. */
  rgb: Uint8Array;
  /** 17*2 floats: x, y in output pixels, LANDMARK_NAMES order. */
  landmarks: Float32Array;
}

/**
 * Supersampling factor: 2x is enough at 128 px because every edge already has analytic
 * coverage; small outputs (thumbnails, tests) get 4x so thin strokes survive.
 */
export function defaultSupersample(size: number): number {
  return size >= 128 ? 2 : 4;
}

export function renderFace(params: FaceParams, size = 128, supersample = defaultSupersample(size)): RenderedFace {
  const { rgb, layout } = paintFace(params, size, supersample);
  return { rgb, landmarks: computeLandmarks(layout, size) };
}
