/**
 * Loads Stable Diffusion 1.x models from a diffusers-layout folder:
 *   unet/config.json + diffusion_pytorch_model.safetensors, vae/ likewise,
 *   text_encoder/config.json + model.safetensors, tokenizer/vocab.json + merges.txt.
 * Everything in the folder is user input: missing files, oversized files, invalid JSON, unsupported configs
 * and tensors that do not match their config are reported with the file (and tensor) they are about.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError } from '../errors.js';
import { parseSafetensors, SafetensorsError, type SafeTensor } from '../io/safetensors.js';
import { ConfigReader } from './config-reader.js';
import type { DiffusionDragModels } from './drag.js';
import { SD15_DDIM, readDDIMConfig, type DDIMConfig } from './ddim.js';
import { ClipTextEncoder, readTextEncoderConfig } from './text-encoder.js';
import { ClipTokenizer } from './tokenizer.js';
import { UNet } from './unet.js';
import { readUNetConfig } from './unet-config.js';
import { VAE } from './vae.js';
import { readVAEConfig } from './vae-config.js';
import { Weights } from './weights.js';

export const DIFFUSION_PARTS = ['unet', 'vae', 'text_encoder', 'tokenizer'] as const;
export type DiffusionPart = (typeof DIFFUSION_PARTS)[number];

const MAX_TEXT_BYTES = 16 * 1024 * 1024;
/** Node cannot read a file past 2 GiB into one buffer; SD 1.5's fp16 UNet (1.7 GB) fits. */
const MAX_WEIGHT_BYTES = 2 ** 31 - 1;

const WEIGHT_FILES: Record<'unet' | 'vae' | 'text_encoder', string> = {
  unet: 'diffusion_pytorch_model.safetensors',
  vae: 'diffusion_pytorch_model.safetensors',
  text_encoder: 'model.safetensors',
};

export interface DiffusionModels {
  unet?: UNet;
  vae?: VAE;
  textEncoder?: ClipTextEncoder;
  tokenizer?: ClipTokenizer;
  dispose(): void;
}

function readBounded(file: string, limit: number, what: string): Buffer {
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new ModelLoadError(`${file} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`${file} is missing (${what})`);
  }
  if (size > limit) throw new ModelLoadError(`${file} is ${size} bytes; at most ${limit} are read`);
  return fs.readFileSync(file);
}

function readText(file: string, what: string): string {
  return readBounded(file, MAX_TEXT_BYTES, what).toString('utf8');
}

/** Old diffusers checkpoints name the VAE's mid attention query/key/value/proj_attn. */
const LEGACY_VAE_NAMES: Array<[RegExp, string]> = [
  [/\.attentions\.0\.query\./, '.attentions.0.to_q.'],
  [/\.attentions\.0\.key\./, '.attentions.0.to_k.'],
  [/\.attentions\.0\.value\./, '.attentions.0.to_v.'],
  [/\.attentions\.0\.proj_attn\./, '.attentions.0.to_out.0.'],
];

function readWeights(dir: string, part: 'unet' | 'vae' | 'text_encoder'): Weights {
  const rel = `${part}/${WEIGHT_FILES[part]}`;
  const bytes = readBounded(path.join(dir, rel), MAX_WEIGHT_BYTES, `the ${part}'s weights`);
  let tensors: Map<string, SafeTensor>;
  try {
    tensors = parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).tensors;
  } catch (err) {
    if (err instanceof SafetensorsError) throw new ModelLoadError(`${rel}: ${err.message}`);
    throw err;
  }
  if (part === 'vae') {
    for (const [name, t] of [...tensors]) {
      const renamed = LEGACY_VAE_NAMES.reduce((n, [re, to]) => n.replace(re, to), name);
      if (renamed !== name && !tensors.has(renamed)) {
        tensors.delete(name);
        tensors.set(renamed, t);
      }
    }
  }
  return new Weights(tensors, rel);
}

function readConfig(dir: string, part: string): ConfigReader {
  const rel = `${part}/config.json`;
  return ConfigReader.parse(readText(path.join(dir, rel), `the ${part}'s config`), rel);
}

/** Builds a model from its weights, releasing them if the config and the weights disagree. */
function build<T>(weights: Weights, make: (w: Weights) => T): T {
  try {
    return make(weights);
  } catch (err) {
    weights.dispose();
    throw err;
  }
}

export function loadUNet(dir: string): UNet {
  const config = readUNetConfig(readConfig(dir, 'unet'));
  return build(readWeights(dir, 'unet'), (w) => new UNet(config, w));
}

export function loadVAE(dir: string): VAE {
  const config = readVAEConfig(readConfig(dir, 'vae'));
  return build(readWeights(dir, 'vae'), (w) => new VAE(config, w));
}

export function loadTextEncoder(dir: string): ClipTextEncoder {
  const config = readTextEncoderConfig(readConfig(dir, 'text_encoder'));
  return build(readWeights(dir, 'text_encoder'), (w) => new ClipTextEncoder(config, w));
}

export function loadTokenizer(dir: string, length = 77): ClipTokenizer {
  return ClipTokenizer.fromFiles(
    readText(path.join(dir, 'tokenizer', 'vocab.json'), "the tokenizer's vocabulary"),
    readText(path.join(dir, 'tokenizer', 'merges.txt'), "the tokenizer's merges"),
    length,
  );
}

/** The folder's scheduler/scheduler_config.json as DDIM settings; SD 1.5's when the folder has none. */
export function loadDDIMConfig(dir: string): DDIMConfig {
  const file = path.join(dir, 'scheduler', 'scheduler_config.json');
  if (!fs.existsSync(file)) return SD15_DDIM;
  return readDDIMConfig(ConfigReader.parse(readText(file, "the scheduler's config"), 'scheduler/scheduler_config.json'));
}

/** Loads the named parts (all four unless told) of a diffusers-layout folder; a failure releases what loaded. */
export function loadDiffusionFolder(dir: string, parts: readonly DiffusionPart[] = DIFFUSION_PARTS): DiffusionModels {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new ModelLoadError(`${dir} is not a folder (a diffusers-layout folder has ${DIFFUSION_PARTS.join('/, ')}/)`);
  }
  const models: DiffusionModels = {
    dispose() {
      models.unet?.dispose();
      models.vae?.dispose();
      models.textEncoder?.dispose();
    },
  };
  try {
    if (parts.includes('tokenizer')) models.tokenizer = loadTokenizer(dir);
    if (parts.includes('text_encoder')) models.textEncoder = loadTextEncoder(dir);
    if (parts.includes('vae')) models.vae = loadVAE(dir);
    if (parts.includes('unet')) models.unet = loadUNet(dir);
    if (models.textEncoder && models.unet && models.textEncoder.config.hiddenSize !== models.unet.config.crossAttentionDim) {
      throw new ModelLoadError(
        `text_encoder's hidden_size ${models.textEncoder.config.hiddenSize} differs from the unet's cross_attention_dim ${models.unet.config.crossAttentionDim}`,
      );
    }
    if (models.textEncoder && models.tokenizer && models.textEncoder.config.maxPositions < models.tokenizer.length) {
      throw new ModelLoadError(`text_encoder takes ${models.textEncoder.config.maxPositions} positions, fewer than the tokenizer's ${models.tokenizer.length}`);
    }
  } catch (err) {
    models.dispose();
    throw err;
  }
  return models;
}

export type LoadedDiffusionDragModels = DiffusionDragModels & { dispose(): void };

/** Everything a drag needs from a diffusers-layout folder: all four parts (a missing one is an error) and its DDIM settings. */
export function loadDiffusionDragModels(dir: string): LoadedDiffusionDragModels {
  const loaded = loadDiffusionFolder(dir);
  try {
    const ddim = loadDDIMConfig(dir);
    return { unet: loaded.unet!, vae: loaded.vae!, textEncoder: loaded.textEncoder!, tokenizer: loaded.tokenizer!, ddim, dispose: () => loaded.dispose() };
  } catch (err) {
    loaded.dispose();
    throw err;
  }
}
