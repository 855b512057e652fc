/**
 * Random StyleGAN2 model directories for server tests: model.safetensors with the config in its metadata,
 * laid out like an imported model (engine/src/model/load.ts reads it), at any resolution, non-square
 * (StyleGAN-Human's img_width = img_resolution / 2, native or padded to a square) and with few channels, so
 * a 1024 px room renders and drags in test time. Mapping width (w_dim) stays FFHQ's 512 by default: the
 * latent is what a run stores per step, so storage numbers measured on these models hold for real ones.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomModelBytes } from '../../engine/src/model/random.js';
import type { StyleGAN2Config } from '../../engine/src/generator/stylegan2/config.js';

export interface RandomModelSpec {
  /** Synthesis height (a power of two >= 8). */
  resolution: number;
  /** Native width: resolution (square, the default) or resolution / 2 (StyleGAN-Human's layout). */
  width?: number;
  /** Present a narrower model padded to a square (DragGAN's StyleGAN-Human view). */
  padToSquare?: boolean;
  /** Channels of every block (default 4: tiny but a real synthesis network). */
  channels?: number;
  /** Latent width (default 512, FFHQ's); z_dim follows it. */
  wDim?: number;
  /** Mapping layers (default 2: the mapping's depth does not change what a run stores). */
  mappingLayers?: number;
  seed?: number;
}

export function randomModelConfig(spec: RandomModelSpec): StyleGAN2Config {
  const res = spec.resolution;
  const channels: Record<string, number> = {};
  for (let r = 4; r <= res; r *= 2) channels[String(r)] = spec.channels ?? 4;
  const wDim = spec.wDim ?? 512;
  return {
    architecture: 'stylegan2-ada',
    name: `random-${spec.width ?? res}x${res}${spec.padToSquare ? '-padded' : ''}`,
    z_dim: wDim,
    w_dim: wDim,
    mapping_layers: spec.mappingLayers ?? 2,
    mapping_lr_multiplier: 0.01,
    img_resolution: res,
    ...(spec.width !== undefined && spec.width !== res ? { img_width: spec.width } : {}),
    ...(spec.padToSquare ? { pad_to_square: true } : {}),
    img_channels: 3,
    channels,
    conv_clamp: 256,
    // A low block keeps feature maps (and so each drag step) small at any resolution.
    drag_block: Math.min(res, 32),
    truncation_psi: 0.7,
  };
}

/** Writes a model directory (model.safetensors) under `dir` (a fresh temp dir when absent); returns its path. */
export function writeRandomModel(spec: RandomModelSpec, dir?: string): string {
  const config = randomModelConfig(spec);
  const out = join(dir ?? mkdtempSync(join(tmpdir(), 'sd-model-')), config.name);
  mkdirSync(out, { recursive: true });
  // Some noise gives busy images (a lossless 512 px frame is about 0.5 MB, more than a real face's), so
  // storage measured on them errs high; biases stay at StyleGAN2's init (random ones saturate the colours).
  writeFileSync(join(out, 'model.safetensors'), randomModelBytes(config, { seed: spec.seed ?? 1, noiseStrength: 0.1 }));
  return out;
}
