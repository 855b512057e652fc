/**
 * Random-weight StyleGAN2 models at FFHQ's widths (channel_base 32768, channel_max 512, 8 mapping layers of
 * 512), for timing the drag step at the sizes people import (256, 512, 1024 px). Speed does not depend on
 * the weights, so a random model times the same as the released checkpoint of that config. Models are
 * written once per size under the OS temp directory and reused.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomModelBytes } from '../engine/src/model/random.js';
import type { StyleGAN2Config } from '../engine/src/generator/stylegan2/config.js';
import type { DragCase } from './cases.js';

export function ffhqConfig(resolution: number): StyleGAN2Config {
  const channels: Record<string, number> = {};
  for (let r = 4; r <= resolution; r *= 2) channels[String(r)] = Math.min(Math.floor(32768 / r), 512);
  return {
    architecture: 'stylegan2-ada',
    name: `ffhq-widths-${resolution}`,
    domain: 'faces',
    z_dim: 512,
    w_dim: 512,
    mapping_layers: 8,
    mapping_lr_multiplier: 0.01,
    img_resolution: resolution,
    img_channels: 3,
    channels,
    conv_clamp: 256,
    // DragGAN drives every StyleGAN2 of 128 px or more from block b128 (as the importer sets it).
    drag_block: resolution >= 128 ? 128 : resolution,
    truncation_psi: 0.7,
  };
}

/** Path of model.safetensors for a random FFHQ-width model at `resolution` (written on first use). */
export function ffhqModel(resolution: number): string {
  const dir = path.join(os.tmpdir(), `stabledrag-bench-ffhq-${resolution}`);
  const file = path.join(dir, 'model.safetensors');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.part`, randomModelBytes(ffhqConfig(resolution), { seed: 0 }));
    renameSync(`${file}.part`, file);
  }
  return file;
}

/** A 128 px benchmark case scaled to `resolution` px (handles, targets and mask boxes). */
export function scaleCase(c: DragCase, resolution: number): DragCase {
  const s = resolution / 128;
  return {
    ...c,
    points: c.points.map((p) => ({ ...p, handle: [p.handle[0] * s, p.handle[1] * s], target: [p.target[0] * s, p.target[1] * s] })),
    ...(c.maskBoxes ? { maskBoxes: c.maskBoxes.map((b) => b.map((v, i) => (i < 2 ? Math.floor(v * s) : Math.ceil((v + 1) * s) - 1)) as [number, number, number, number]) } : {}),
  };
}
