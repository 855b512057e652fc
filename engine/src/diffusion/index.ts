/** Stable Diffusion 1.x models in TF.js: UNet, VAE, CLIP text encoder and tokenizer, from a diffusers folder. */
export { UNet, type UNetOutput } from './unet.js';
export { readUNetConfig, type UNetConfig } from './unet-config.js';
export { VAE } from './vae.js';
export { readVAEConfig, type VAEConfig } from './vae-config.js';
export { ClipTextEncoder, readTextEncoderConfig, type TextEncoderConfig } from './text-encoder.js';
export { ClipTokenizer, cleanPrompt, MAX_PROMPT_CHARS } from './tokenizer.js';
export { ConfigReader } from './config-reader.js';
export { DiffusionInputError } from './errors.js';
export { loadDiffusionFolder, loadDiffusionDragModels, loadUNet, loadVAE, loadTextEncoder, loadTokenizer, loadDDIMConfig, DIFFUSION_PARTS, type DiffusionPart, type DiffusionModels, type LoadedDiffusionDragModels } from './folder.js';
export { DDIMScheduler, ddimInvert, ddimDenoise, ddimInvertSteps, ddimDenoiseSteps, runDDIMLoop, inversionTimesteps, readDDIMConfig, SD15_DDIM, MAX_DDIM_STEPS, type DDIMConfig, type DDIMProgress, type DDIMStep } from './ddim.js';
export { randomUNet, randomVAE, randomTextEncoder } from './random-weights.js';
export { UNetLoRA, LoRATrainer, trainLoRA, denoisingLoss, type LoRAAdapterEntry, type LoRAProgress } from './lora.js';
export {
  resolveDiffusionDragOptions,
  resolveLoRAOptions,
  roomSettingsToOptions,
  DEFAULT_DIFFUSION_DRAG,
  DEFAULT_LORA,
  DIFFUSION_DRAG_BOUNDS,
  DIFFUSION_DRAG_METHODS,
  LORA_BOUNDS,
  type DiffusionDragMethod,
  type DiffusionDragOptions,
  type DiffusionDragOptionsInput,
  type LoRAOptions,
} from './options.js';
export { DiffusionDragSession, supervisedUpBlock, type DiffusionStepState } from './drag-session.js';
export { MASA_START_SHARE, denoiseMutual, denoiseMutualSteps, masaStartLayer, withMutualSelfAttention } from './masactrl.js';
export { latentPreview } from './preview.js';
export {
  diffusionDragRun,
  decodeDiffusionLatent,
  validateDiffusionDragRequest,
  MAX_DIFFUSION_IMAGE_SIDE,
  type DiffusionDragModels,
  type DiffusionDragRequest,
  type DiffusionDragEvent,
  type DiffusionDragStepEvent,
  type DiffusionStageEvent,
  type DiffusionDragEndEvent,
} from './drag.js';
export { importDiffusersFolder, DIFFUSION_MODEL_MARKER, type DiffusionModelMarker, type DiffusersImportResult } from './import.js';
