// `stabledrag invert` run as a user runs it, on the tiny parity model with a photo-like JPEG made here.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../engine/src/io/safetensors.js';
import { readPng } from '../../engine/src/io/png.js';

const run = promisify(execFile);
const bin = new URL('../../engine/bin/stabledrag.mjs', import.meta.url).pathname;
const model = new URL('../fixtures/parity/', import.meta.url).pathname;

describe('stabledrag invert', () => {
  it('writes the fitted input, reconstructions, the latent and per-stage metrics', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-invert-'));
    const photo = path.join(dir, 'photo.jpg');
    const w = 80;
    const h = 60;
    const rgb = Buffer.alloc(w * h * 3);
    for (let p = 0; p < w * h; p++) rgb.set([(p % w) * 3, Math.floor(p / w) * 4, 120], p * 3);
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg().toFile(photo);
    const out = path.join(dir, 'out');
    const frames = path.join(dir, 'frames');
    const { stdout, stderr } = await run('node', [bin, 'invert', '--model', model, '--image', photo, '--out', out, '--steps', '6', '--wplus', '3', '--samples', '50', '--frames', frames, '--crop', '10,0,60,60']);
    expect(stdout).toMatch(/w\+ PSNR [\d.]+ dB, SSIM/);
    expect(stderr).toMatch(/^w: PSNR .* \(loss pixel-multiscale\)$/m);
    expect(readdirSync(frames)).toHaveLength(9);
    const input = readPng(path.join(out, 'input.png'));
    expect([input.width, input.height]).toEqual([32, 32]);
    for (const f of ['reconstruction.png', 'reconstruction-w.png', 'reconstruction-wplus.png']) expect(existsSync(path.join(out, f))).toBe(true);
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.source).toMatchObject({ format: 'jpeg', width: 80, height: 60, crop: { left: 10, top: 0, width: 60, height: 60 } });
    expect(metrics.stages.map((s: { stage: string; steps: number }) => [s.stage, s.steps])).toEqual([['w', 6], ['w+', 3]]);
    const file = parseSafetensors(readFileSync(path.join(out, 'latent.safetensors')));
    const latent = file.tensors.get('latent')!;
    expect(latent.shape).toEqual([8, 32]); // num_ws of a 32 px StyleGAN2: 2 * log2(32) - 2
    const raw = readFileSync(path.join(out, 'latent.f32'));
    expect(Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4))).toEqual(Array.from(latent.data));
    // The latent feeds a drag directly.
    const dragged = path.join(dir, 'dragged.png');
    await run('node', [bin, 'drag', '--model', model, '--latent', path.join(out, 'latent.f32'), '--points', '10,16->14,16', '--max-steps', '2', '--out', dragged]);
    expect(existsSync(dragged)).toBe(true);
  });

  it('--pti-steps tunes the weights and writes them; sample and drag render with --pti-weights; another model refuses them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-invert-pti-'));
    const photo = path.join(dir, 'photo.png');
    await sharp(Buffer.alloc(32 * 32 * 3, 90), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(photo);
    const out = path.join(dir, 'out');
    const { stderr } = await run('node', [bin, 'invert', '--model', model, '--image', photo, '--out', out, '--steps', '4', '--wplus', '0', '--pti-steps', '3', '--samples', '50']);
    expect(stderr).toMatch(/^pti: PSNR .* weights [\d.]+ KiB$/m);
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.stages.map((s: { stage: string; steps: number }) => [s.stage, s.steps])).toEqual([['w', 4], ['pti', 3]]);
    const weights = path.join(out, 'pti-weights.safetensors');
    expect(metrics.stages[1].weightsBytes).toBe(readFileSync(weights).length);
    expect(existsSync(path.join(out, 'reconstruction-pti.png'))).toBe(true);
    const dragged = path.join(dir, 'dragged.png');
    await run('node', [bin, 'drag', '--model', model, '--pti-weights', weights, '--latent', path.join(out, 'latent.f32'), '--points', '10,16->14,16', '--max-steps', '2', '--out', dragged]);
    expect(existsSync(dragged)).toBe(true);
    const other = new URL('../fixtures/stylegan2/sg2-128-map2/', import.meta.url).pathname;
    const err = (await run('node', [bin, 'info', '--model', other, '--pti-weights', weights]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/error \(invalid-pti-weights\): these PTI weights were tuned from model/);
  });

  it('refuses a file that is not an image, naming the problem', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-invert-'));
    const fake = path.join(dir, 'photo.png');
    writeFileSync(fake, 'PK\x03\x04 a zip archive renamed to .png');
    const err = (await run('node', [bin, 'invert', '--model', model, '--image', fake, '--out', path.join(dir, 'out')]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/error \(invalid-image\): the file is a ZIP archive, not an image/);
    expect(existsSync(path.join(dir, 'out'))).toBe(false);
    await sharp(Buffer.alloc(32 * 32 * 3, 100), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(path.join(dir, 'ok.png'));
    const bad = (await run('node', [bin, 'invert', '--model', model, '--image', path.join(dir, 'ok.png'), '--out', path.join(dir, 'out2'), '--loss', 'vgg']).catch((e: unknown) => e)) as { stderr: string };
    expect(bad.stderr).toMatch(/bad --loss 'vgg': expected auto, pixel, detector, discriminator or lpips/);
  });
});
