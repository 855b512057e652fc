// `stabledrag import` run as a user runs it: progress on stderr, then a summary of the model on stdout (size,
// mapping, parameters, fp16 layers, clamp, D, drag defaults) and how to open it in the studio; refusals exit 1.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../../engine/bin/stabledrag.mjs', import.meta.url).pathname;
const pickles = new URL('../fixtures/pickles/', import.meta.url).pathname;

describe('stabledrag import', () => {
  it('summarises a StyleGAN2-ADA snapshot and says how to open it in the studio', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-cli-import-'));
    const out = path.join(dir, 'ffhq-small');
    const { stdout, stderr } = await run('node', [bin, 'import', path.join(pickles, 'sg2-ffhq-256-map8.pkl'), '--out', out], { env: { ...process.env, STABLEDRAG_MODELS: '' } });
    expect(stderr).toMatch(/read [\d.]+ \/ [\d.]+ MB \(100%\)/);
    expect(stderr).toMatch(/wrote (\d+) \/ \1 tensors \(100%\)/);
    expect(stdout).toContain(`imported stylegan2-ada 'ffhq-small' (256x256, 144 tensors) to ${path.join(out, 'model.safetensors')}`);
    expect(stdout).toMatch(/name +ffhq-small \(faces\)/);
    expect(stdout).toMatch(/architecture +stylegan2-ada \(from a stylegan2-ada-pickle\)/);
    expect(stdout).toMatch(/resolution +256 x 256 \(W x H\)/);
    expect(stdout).toMatch(/mapping +8 layers, z_dim 32, w_dim 32, 14 style vectors \(num_ws\)/);
    expect(stdout).toMatch(/parameters +252,028 \(G_ema\)/);
    expect(stdout).toMatch(/fp16 layers +b32\.\.b256 ran in fp16 in the original \(num_fp16_res 4\); computed in fp32 here/);
    expect(stdout).toMatch(/conv_clamp +256/);
    expect(stdout).toContain(`kept: ${path.join(out, 'discriminator.safetensors')}`);
    // DragGAN's conventions at 256 px: block 6 (b128), r1 = round(3 / 512 * 256), r2 = round(12 / 512 * 256), stop 2 px.
    expect(stdout).toMatch(/drag defaults +features: output of block b128 \(synthesis block 6\) resized to the image; r1 2 px, r2 6 px, stop within 2 px/);
    expect(stdout).toContain(`to open it in the studio: copy or move ${out} into the models directory (STABLEDRAG_MODELS, default models/`);
  });

  it('a StyleGAN-Human model (W x H, and padded as DragGAN shows it), a TF config-f one written straight into STABLEDRAG_MODELS', async () => {
    const models = mkdtempSync(path.join(tmpdir(), 'sd-cli-models-'));
    const human = await run('node', [bin, 'import', path.join(pickles, 'stylegan-human-512x256.pkl'), '--out', path.join(models, 'human')]);
    expect(human.stdout).toMatch(/resolution +256 x 512 \(W x H\)/);
    expect(human.stdout).toMatch(/r1 3 px, r2 12 px, stop within 2 px/);
    expect(human.stdout).toMatch(/discriminator +not kept: the checkpoint has no D/);
    const square = await run('node', [bin, 'import', path.join(pickles, 'stylegan-human-512x256.pkl'), '--out', path.join(models, 'human-square'), '--pad-to-square']);
    expect(square.stdout).toMatch(/resolution +512 x 512 \(W x H\), padded to a square/);
    const car = await run('node', [bin, 'import', path.join(pickles, 'sg2-car-config-f-128-tf.pkl'), '--out', path.join(models, 'car')], { env: { ...process.env, STABLEDRAG_MODELS: models } });
    expect(car.stdout).toMatch(/architecture +stylegan2-ada \(from a tf-config-f-pickle\)/);
    expect(car.stdout).toMatch(/fp16 layers +none/);
    expect(car.stdout).toMatch(/conv_clamp +none/);
    expect(car.stdout).toContain(`it is in the studio's models directory (${models}) as 'car'`);
  });

  it('refuses a conditional model, --pad-to-square on a square one and an unloadable one with exit code 1, writing nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-cli-refuse-'));
    const cond = await run('node', [bin, 'import', path.join(pickles, 'sg2-conditional-32.pkl'), '--out', path.join(dir, 'c')]).catch((e) => e);
    expect(cond.code).toBe(1);
    expect(cond.stderr).toMatch(/error \(checkpoint-import-failed\): conditional models \(c_dim = 10\) are not supported/);
    const square = await run('node', [bin, 'import', path.join(pickles, 'sg2-afhqcat-64-map2.pkl'), '--out', path.join(dir, 's'), '--pad-to-square']).catch((e) => e);
    expect(square.code).toBe(1);
    expect(square.stderr).toMatch(/padding to a square is for non-square models \(StyleGAN-Human\); this one is already 64x64/);
    mkdirSync(path.join(dir, 'n'));
    const nan = await run('node', [bin, 'import', path.join(pickles, 'sg2-nan-bias-32.pkl'), '--out', path.join(dir, 'n')]).catch((e) => e);
    expect(nan.code).toBe(1);
    expect(nan.stderr).toMatch(/error \(checkpoint-import-failed\): the imported model would not load: .*tensor 'synthesis\.b16\.conv1\.bias' holds a non-finite value/);
    expect(existsSync(path.join(dir, 'n', 'model.safetensors'))).toBe(false);
    expect(existsSync(path.join(dir, 'n', 'model.safetensors.partial'))).toBe(false);
  });
});
