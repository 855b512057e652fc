/** GAN inversion: fit a latent of any ImageGenerator to a target image. */
export { invertRun } from './run.js';
export { defaultInvertOptions, validateInvertRequest, detectorLossSuits, MAX_INVERT_STEPS } from './options.js';
export { psnr, ssim } from './metrics.js';
export type * from './types.js';
export { loadBaseModel, baseModelFromBytes, modelId, type BaseModel } from './pti/base-model.js';
export {
  applyPtiWeights,
  compactPtiWeights,
  ptiTunedTensors,
  ptiWeightsMetadata,
  PtiWeightsError,
  PTI_WEIGHTS_METADATA_KEY,
  DEFAULT_PTI_MIN_PSNR,
  type CompactPtiWeights,
  type PtiWeightsMetadata,
} from './pti/delta.js';
export { StyleGAN2Discriminator, DiscriminatorLoadError } from './discriminator.js';
export { LpipsVgg, LpipsLoss, LpipsLoadError } from './lpips.js';
