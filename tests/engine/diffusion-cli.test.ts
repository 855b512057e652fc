// `stabledrag import-diffusers` and `stabledrag diffusion-drag` run as a user runs them, on the tiny
// diffusion fixture and a PNG made here.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readPng } from '../../engine/src/io/png.js';

const run = promisify(execFile);
const bin = new URL('../../engine/bin/stabledrag.mjs', import.meta.url).pathname;
const tiny = new URL('../fixtures/diffusion/tiny/', import.meta.url).pathname;

async function fails(args: string[]): Promise<string> {
  try {
    await run('node', [bin, ...args]);
  } catch (err) {
    return (err as { stderr: string }).stderr;
  }
  throw new Error(`stabledrag ${args.join(' ')} succeeded`);
}

describe('stabledrag import-diffusers and diffusion-drag', () => {
  it('imports a diffusers folder, refuses bad ones leaving nothing, and drags with the imported model', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-diffusion-cli-'));
    const models = path.join(dir, 'models');
    const out = path.join(models, 'tiny');
    const { stdout } = await run('node', [bin, 'import-diffusers', tiny, '--out', out, '--backend', 'wasm']);
    expect(stdout).toMatch(/diffusion model 'tiny', 16 px images/);
    const marker = JSON.parse(readFileSync(path.join(out, 'diffusion-model.json'), 'utf8'));
    expect(marker).toMatchObject({ format: 'stabledrag-diffusion', version: 1, name: 'tiny', imageSize: 16, latentChannels: 4 });
    expect(existsSync(path.join(out, 'unet', 'diffusion_pytorch_model.safetensors'))).toBe(true);

    expect(await fails(['import-diffusers', tiny, '--out', out, '--backend', 'wasm'])).toMatch(/already exists/);
    const broken = path.join(dir, 'broken');
    cpSync(tiny, broken, { recursive: true });
    rmSync(path.join(broken, 'vae', 'config.json'));
    expect(await fails(['import-diffusers', broken, '--out', path.join(models, 'broken'), '--backend', 'wasm'])).toMatch(/vae\/config.json is missing/);
    expect(await fails(['import-diffusers', tiny, '--out', path.join(models, 'bad name'), '--backend', 'wasm'])).toMatch(/model name 'bad name'/);
    expect(await fails(['import-diffusers', tiny, '--out', path.join(models, 'long'), '--prompt', 'x'.repeat(10_001), '--backend', 'wasm'])).toMatch(/prompt is 10001 characters/);
    expect(readdirSync(models)).toEqual(['tiny']);
    // Settings outside a room's bounds, unknown ones, or not JSON, refused before anything is written.
    expect(await fails(['import-diffusers', tiny, '--out', path.join(models, 'carded'), '--settings', '{"lr":5}', '--backend', 'wasm'])).toMatch(/settings.lr: 5 is outside \[0.0001, 0.1\]/);
    expect(await fails(['import-diffusers', tiny, '--out', path.join(models, 'carded'), '--settings', '{"featureBlock":1}', '--backend', 'wasm'])).toMatch(/settings: unknown key "featureBlock"/);
    expect(await fails(['import-diffusers', tiny, '--out', path.join(models, 'carded'), '--settings', '{lr:0.05}', '--backend', 'wasm'])).toMatch(/--settings must be a JSON object/);
    expect(readdirSync(models)).toEqual(['tiny']);
    // The prompt and the settings go into the card: a new room's.
    await run('node', [bin, 'import-diffusers', tiny, '--out', path.join(models, 'carded'), '--prompt', 'a photo of a face', '--settings', '{"lr":0.05,"inversionStrength":0.4}', '--backend', 'wasm']);
    expect(JSON.parse(readFileSync(path.join(models, 'carded', 'diffusion-model.json'), 'utf8'))).toMatchObject({ name: 'carded', prompt: 'a photo of a face', settings: { lr: 0.05, inversionStrength: 0.4 } });
    rmSync(path.join(models, 'carded'), { recursive: true });

    const image = path.join(dir, 'in.png');
    const w = 40;
    const rgb = Buffer.alloc(w * w * 3);
    for (let p = 0; p < w * w; p++) rgb.set([(p % w) * 6, Math.floor(p / w) * 6, 120], p * 3);
    await sharp(rgb, { raw: { width: w, height: w, channels: 3 } }).png().toFile(image);
    const frames = path.join(dir, 'frames');
    const result = path.join(dir, 'out.png');
    const drag = await run('node', [
      bin, 'diffusion-drag', '--backend', 'wasm', '--model', out, '--image', image, '--points', '6,7->12,7', '--out', result,
      '--lora-steps', '2', '--ddim-steps', '10', '--max-steps', '3', '--decode-every', '1', '--frames', frames, '--method', 'dragdiffusion',
    ]);
    expect(drag.stdout).toMatch(/wrote .*out\.png \(max-steps after 3 steps/);
    expect(drag.stderr).toMatch(/^lora 2\/2 loss [\d.]+$/m);
    expect(drag.stderr).toMatch(/^invert 7\/7$/m);
    expect(readdirSync(frames)).toEqual(['step-0000.png', 'step-0001.png', 'step-0002.png', 'step-0003.png']);
    const png = readPng(result);
    expect([png.width, png.height]).toEqual([16, 16]);

    expect(await fails(['diffusion-drag', '--backend', 'wasm', '--model', out, '--image', image, '--points', '60,7->12,7', '--out', result])).toMatch(/outside the 16x16 image/);
    expect(await fails(['diffusion-drag', '--backend', 'wasm', '--model', out, '--image', image, '--points', '6,7->12,7', '--out', result, '--method', 'draggan'])).toMatch(/method must be one of/);
  }, 240_000);
});
