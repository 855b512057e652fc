/** The engine's public API: everything outside engine/ imports from here. */
export { initBackend, currentBackend, BACKEND_NAMES, type BackendName, type BackendInfo, type BackendOptions } from './backend.js';
export { EngineError, DragInputError, ModelLoadError, BackendError, LatentError, ImageInputError, InvertInputError } from './errors.js';
export { probeWebGPU, onDeviceLost, webgpuAdapter, DeviceLostError, SyncReadError, type WebGPUAdapterInfo } from './backends/webgpu.js';
export { softwareVulkanEnv } from './backends/software-vulkan.js';
export { gpuBytesInUse } from './backends/memory.js';
import { LatentError } from './errors.js';
export { createGenerator, readFeatures } from './generator/index.js';
export type { ImageGenerator, FeatureLayer, SynthesisState, ParamSource } from './generator/types.js';
export { imageToRGBA } from './generator/rgba.js';
export { StyleGAN2Generator } from './generator/stylegan2/generator.js';
export { numWs, blockResolutions, type StyleGAN2Config } from './generator/stylegan2/config.js';
export { StyleGAN3Generator, type StyleGAN3Config } from './generator/stylegan3/index.js';
export { loadGenerator, generatorFromBytes, defaultModelPath, MODEL_FILE_NAME } from './model/load.js';
export { FACES128_CONFIG, validateConfig, expectedParams, CONFIG_METADATA_KEY, type ModelConfig, type Architecture } from './model/config.js';
export { presentedSize, type PresentedSize } from './model/image-size.js';
export { randomModelBytes, type RandomModelOptions } from './model/random.js';
export { dragRun } from './drag/run.js';
export { defaultDragOptions, dragPixelDefaults, resolveDragOptions, MAX_POINT_PAIRS } from './drag/options.js';
export { numpyRandn } from './random.js';
export {
  invertRun,
  defaultInvertOptions,
  detectorLossSuits,
  MAX_INVERT_STEPS,
  psnr,
  ssim,
  loadBaseModel,
  baseModelFromBytes,
  modelId,
  applyPtiWeights,
  ptiWeightsMetadata,
  PtiWeightsError,
  PTI_WEIGHTS_METADATA_KEY,
  DEFAULT_PTI_MIN_PSNR,
  StyleGAN2Discriminator,
  DiscriminatorLoadError,
  type BaseModel,
  type CompactPtiWeights,
  type PtiWeightsMetadata,
} from './invert/index.js';
export type * from './invert/types.js';
export { probeImage, fitImage, decodeImage, centreCrop, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, TRANSPARENT_BACKGROUND, type ImageInfo, type CropRect, type FitOptions, type FittedImage } from './io/image-input.js';
export { parseSafetensors } from './io/safetensors.js';
export { importCheckpoint, DISCRIMINATOR_METADATA_KEY, DISCRIMINATOR_FILE_NAME, type ImportOptions, type ImportProgress, type ImportResult } from './import/import-checkpoint.js';
export { CheckpointImportError } from './import/errors.js';
export { importLpips, type ImportLpipsOptions, type ImportLpipsResult } from './import/import-lpips.js';
export { LpipsVgg, LpipsLoss, LpipsLoadError, defaultLpipsPath, LPIPS_FILE_NAME, lpipsPathIn } from './invert/lpips.js';
export { suggestFaceCrop, FACE_CROP_CONFIDENT, type FaceCropSuggestion } from './landmarks/face-crop.js';
export { loadLandmarkDetector, landmarkDetectorFromBytes, defaultDetectorPath, LandmarkDetector, DetectorInputError, DETECTOR_METADATA_KEY, type DetectorConfig } from './landmarks/detector.js';
export type * from './drag/types.js';
export * from './diffusion/index.js';
export { readDragBenchCase, writeDragBenchCase, validateDragCase, DRAGBENCH_FILES, type DragCase } from './diffusion/dragbench.js';
export { decodeMetaData, encodeMetaData, type DragBenchMetaData } from './diffusion/dragbench-pickle.js';
export { dragCaseFromJson, dragCaseToJson, readDragCaseJson, writeDragCaseJson, DRAG_CASE_FORMAT } from './diffusion/dragbench-json.js';
export { DragBenchError } from './diffusion/dragbench-error.js';

import type { ImageGenerator } from './generator/types.js';
import type { RGBAImage } from './drag/types.js';
import * as tf from '@tensorflow/tfjs';
import { imageToRGBAAsync } from './generator/rgba.js';

/** The latent (numWs x wDim) of a seed, with the model's default truncation unless psi is given. */
export function latentFromSeed(gen: ImageGenerator, seed: number, psi?: number): Float32Array {
  return gen.latentFromSeed(seed, psi);
}

/** renderImage with an awaited read: the form to use on any backend, webgpu included. */
export async function renderImageAsync(gen: ImageGenerator, latent: Float32Array): Promise<RGBAImage> {
  const problem = gen.checkLatent(latent);
  if (problem) throw new LatentError(problem);
  const img = tf.tidy(() => gen.image(tf.tensor2d(latent, [gen.numWs, gen.wDim])));
  try {
    return await imageToRGBAAsync(img);
  } finally {
    img.dispose();
  }
}

export function renderImage(gen: ImageGenerator, latent: Float32Array): RGBAImage {
  const problem = gen.checkLatent(latent);
  if (problem) throw new LatentError(problem);
  return gen.render(latent);
}
