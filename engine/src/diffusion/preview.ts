/**
 * A cheap RGB view of a Stable Diffusion 1.x latent, with no VAE: a fixed linear map from the 4 latent
 * channels to RGB (the approximation community UIs use for live previews, e.g. ComfyUI's SD 1.5
 * latent_rgb_factors), at latent resolution. It costs a few multiplies per cell, so a drag can show one
 * every step and decode with the VAE only every few steps. Latents with another channel count show grey.
 */
import type { RGBAImage } from '../drag/types.js';

/** Rows: latent channels; columns: R, G, B (for the scaled latent the UNet sees). */
const SD1_LATENT_RGB = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];

/** src: a [1, h, w, c] scaled latent's values (read by the caller, awaited on backends without sync reads) -> RGBA bytes at h x w. */
export function latentPreview(src: Float32Array, [, h, w, c]: readonly number[]): RGBAImage {
  const data = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      let v = 0;
      if (c === 4) for (let ch = 0; ch < 4; ch++) v += src[p * 4 + ch] * SD1_LATENT_RGB[ch][k];
      else for (let ch = 0; ch < c; ch++) v += src[p * c + ch] / c;
      data[p * 4 + k] = Math.trunc(Math.min(255, Math.max(0, v * 127.5 + 128)));
    }
    data[p * 4 + 3] = 255;
  }
  return { width: w, height: h, data };
}
