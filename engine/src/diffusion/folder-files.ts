/**
 * The files of an engine diffusion model folder (diffusers' layout), in a module without tensor code: the
 * studio's model registry lists such folders from the main thread, which never loads TensorFlow.js.
 */
export const DIFFUSION_MODEL_MARKER = 'diffusion-model.json';

/** The files an engine diffusion model consists of. */
export const DIFFUSION_FILES = [
  'unet/config.json',
  'unet/diffusion_pytorch_model.safetensors',
  'vae/config.json',
  'vae/diffusion_pytorch_model.safetensors',
  'text_encoder/config.json',
  'text_encoder/model.safetensors',
  'tokenizer/vocab.json',
  'tokenizer/merges.txt',
] as const;
/**
 * Copied along when present: the scheduler (SD 1.5's DDIM settings without it) and training.json, the training
 * history a model card quotes (training/diffusion/export.py writes it; train.py --resume-from-export reads it).
 */
export const OPTIONAL_DIFFUSION_FILES = ['scheduler/scheduler_config.json', 'training.json'] as const;
