// The inversion's 'pixel-multiscale+lpips' loss: chosen when the request brings LPIPS-VGG16, refused without
// it, and reached from `stabledrag invert --lpips FILE` / `--loss auto`, and `stabledrag import-lpips` run
// as a user runs it. The LPIPS file is the reduced-width random one of tests/fixtures/lpips.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatorFromBytes, initBackend, InvertInputError, invertRun, psnr, type InvertEvent, type InvertStageEvent } from '../../engine/src/index.js';
import { LpipsVgg } from '../../engine/src/invert/lpips.js';
import { perceptualForLoss } from '../../engine/cli/invert.js';

const run = promisify(execFile);
const bin = new URL('../../engine/bin/stabledrag.mjs', import.meta.url).pathname;
const modelDir = new URL('../fixtures/parity/', import.meta.url).pathname;
const lpipsFile = new URL('../fixtures/lpips/lpips-small.safetensors', import.meta.url).pathname;
const fixture = (name: string) => new URL(`../fixtures/lpips/${name}`, import.meta.url).pathname;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

describe('inversion with LPIPS', () => {
  it("uses '+lpips' when the request brings LPIPS, gets closer to the target, and refuses the loss without it", async () => {
    const gen = generatorFromBytes(readFileSync(path.join(modelDir, 'model.safetensors')), 'parity');
    const lpips = LpipsVgg.fromBytes(readFileSync(lpipsFile), lpipsFile);
    try {
      const target = gen.render(gen.latentFromSeed(7, 1));
      const events: InvertEvent[] = [];
      for await (const ev of invertRun(gen, { target, lpips, options: { wAvgSamples: 200, wSteps: 20, wPlusSteps: 10, wPlusLr: 0.02 } })) events.push(ev);
      const stages = events.filter((e): e is InvertStageEvent => e.type === 'stage');
      expect(stages.map((s) => [s.stage, s.loss])).toEqual([['w', 'pixel-multiscale+lpips'], ['w+', 'pixel-multiscale+lpips']]);
      const start = psnr(gen.render(gen.broadcast(gen.mapping(new Float32Array(gen.config.z_dim)))), target);
      expect(stages[1].psnr).toBeGreaterThan(start);
      expect(() => invertRun(gen, { target, options: { loss: 'pixel-multiscale+lpips' } })).toThrow(/needs the LPIPS-VGG16 weights/);
      expect(() => invertRun(gen, { target, options: { loss: 'pixel-multiscale+lpips' } })).toThrow(InvertInputError);
    } finally {
      lpips.dispose();
      gen.dispose();
    }
  }, 120_000);

  it('--loss auto prefers LPIPS where its file exists; --loss lpips without it says how to get it', async () => {
    const gen = generatorFromBytes(readFileSync(path.join(modelDir, 'model.safetensors')), 'parity');
    try {
      const nets = await perceptualForLoss(gen, 'auto', modelDir, lpipsFile);
      expect(nets.lpips?.widths).toEqual([8, 16, 16, 32, 32]);
      expect(nets.discriminator).toBeUndefined();
      nets.lpips!.dispose();
      const missing = path.join(tmpdir(), 'no-such-dir', 'lpips-vgg.safetensors');
      expect((await perceptualForLoss(gen, 'auto', modelDir, missing)).lpips).toBeUndefined();
      await expect(perceptualForLoss(gen, 'lpips', modelDir, missing)).rejects.toThrow(/--loss lpips: there is no .*stabledrag import-lpips/);
    } finally {
      gen.dispose();
    }
  });

  it('stabledrag invert --lpips FILE runs with the LPIPS loss; import-lpips refuses a narrow VGG by tensor name', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-invert-lpips-'));
    const photo = path.join(dir, 'photo.png');
    await sharp(Buffer.alloc(32 * 32 * 3, 90), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(photo);
    const out = path.join(dir, 'out');
    const { stderr } = await run('node', [bin, 'invert', '--model', modelDir, '--image', photo, '--out', out, '--steps', '3', '--wplus', '2', '--samples', '50', '--lpips', lpipsFile]);
    expect(stderr).toMatch(/^w: PSNR .* \(loss pixel-multiscale\+lpips\)$/m);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).stages.map((s: { loss: string }) => s.loss)).toEqual(['pixel-multiscale+lpips', 'pixel-multiscale+lpips']);

    const written = path.join(dir, 'lpips-vgg.safetensors');
    const refused = await run('node', [bin, 'import-lpips', fixture('vgg-small.pth'), '--vgg', fixture('vgg16-small.pth'), '--out', written]).then(
      () => undefined,
      (err: { stderr: string; code: number }) => err,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/error \(checkpoint-import-failed\): .*vgg16-small\.pth: features\.0\.weight is \[8,3,3,3\], LPIPS-VGG16 needs \[64,3,3,3\]/);
    expect(existsSync(written)).toBe(false);
  }, 120_000);
});
