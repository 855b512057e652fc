/** GAN inversion: fit a latent of any ImageGenerator to a target image. */
export { invertRun } from './run.js';
export { defaultInvertOptions, validateInvertRequest, detectorLossSuits, MAX_INVERT_STEPS } from './options.js';
export { psnr, ssim } from './metrics.js';
export type * from './types.js';
