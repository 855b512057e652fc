/**
 * Which steps of a run keep a lossless frame in the database. Every step keeps its latent (numWs x wDim
 * float32: 32 KB for FFHQ's 16 x 512), which is all a frame needs to be rendered again exactly (rendering is
 * deterministic: tests/server/stored-frames.test.ts). Frames cost far more and grow with the image (a lossless
 * 512 px frame is a few hundred KB), so only every k-th step keeps one, k growing with the pixel count, plus
 * the run's last step (written with its end), so a run's start, result and a frame every few steps stay
 * viewable without the model. Everything else is re-rendered from its latent by a worker (step-frames.ts).
 */
import type { ImageSize } from '../../contract/events.js';

/** Images up to this many pixels keep a frame at every step (128 x 128: a lossless frame is tens of KB). */
const EVERY_STEP_PIXELS = 128 * 128;

/**
 * k for an image size: 1 up to 128 x 128, then doubling with each doubling of the pixel count (rounded to a
 * power of two): 4 at 256 px, 8 at 512 x 256, 16 at 512 px, 64 at 1024 px. A 100-step run thus stores
 * 8 frames at 512 px and 3 at 1024 px, about what 25 steps at 128 px store.
 */
export function storedFrameEvery(size: ImageSize): number {
  const ratio = (size.width * size.height) / EVERY_STEP_PIXELS;
  if (!(ratio > 1)) return 1;
  return 2 ** Math.round(Math.log2(ratio));
}

/** Whether step `step` keeps its frame (the last step keeps one too, written when the run ends). */
export function storesFrame(step: number, every: number): boolean {
  return step % Math.max(1, every) === 0;
}
