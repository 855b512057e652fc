/**
 * The size of the image a model presents to people (canvas, points, masks, frames), from its config alone.
 * Free of TensorFlow.js so the server's main thread can size rooms without loading the engine.
 */
import type { CommonConfig } from './common-config.js';

type SizeKeys = Pick<CommonConfig, 'img_resolution' | 'img_width'> & { pad_to_square?: boolean };

export interface PresentedSize {
  width: number;
  height: number;
  /** Whether a narrower native image is padded left and right to a square (DragGAN's StyleGAN-Human view). */
  padded: boolean;
}

export function presentedSize(config: SizeKeys): PresentedSize {
  const native = config.img_width ?? config.img_resolution;
  const padded = config.pad_to_square === true && native !== config.img_resolution;
  return { width: padded ? config.img_resolution : native, height: config.img_resolution, padded };
}
