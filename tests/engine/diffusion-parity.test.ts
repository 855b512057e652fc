// The engine's Stable Diffusion 1.x models against diffusers v0.21.4 (and a transcription of transformers'
// CLIPTextModel / CLIPTokenizer), on the tiny random models training/reference/diffusion_tiny.py writes to
// tests/fixtures/diffusion/tiny: UNet noise and up-block features, VAE encoder mean and decoder, CLIP's last
// hidden state, the token ids of a few prompts, and a DDIM inversion (DragDiffusion's inv_step) to strength
// 0.7 of 10 steps then denoising back (diffusers' DDIMScheduler.step), latent by latent. Tensors agree within 1e-3 of the reference's largest
// magnitude; ids agree exactly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DDIMScheduler,
  ddimDenoise,
  ddimInvert,
  initBackend,
  loadDDIMConfig,
  loadDiffusionFolder,
  parseSafetensors,
  type DiffusionModels,
} from '../../engine/src/index.js';

const DIR = path.join(__dirname, '..', 'fixtures', 'diffusion', 'tiny');
const TOLERANCE = 1e-3;
const ref = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(DIR, 'reference.safetensors')))).tensors;
const rows: Array<{ output: string; maxAbsDiff: string; refMaxAbs: string; relative: string }> = [];

function expected(name: string): { shape: number[]; data: Float32Array } {
  const t = ref.get(name);
  if (!t) throw new Error(`reference.safetensors has no '${name}'`);
  return t;
}

/** The reference's NCHW tensor as NHWC, the engine's layout. */
function nhwc(name: string): tf.Tensor4D {
  const t = expected(name);
  return tf.tidy(() => tf.transpose(tf.tensor4d(t.data, t.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

async function compare(output: string, actual: tf.Tensor, name: string, layout: 'nchw' | 'plain'): Promise<void> {
  const want = expected(name);
  const got = layout === 'nchw' ? tf.transpose(actual, [0, 3, 1, 2]) : actual;
  expect(got.shape).toEqual(want.shape);
  const data = (await got.data()) as Float32Array;
  if (got !== actual) got.dispose();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < data.length; i++) {
    diff = Math.max(diff, Math.abs(data[i] - want.data[i]));
    scale = Math.max(scale, Math.abs(want.data[i]));
  }
  rows.push({ output, maxAbsDiff: diff.toExponential(2), refMaxAbs: scale.toPrecision(4), relative: (diff / scale).toExponential(2) });
  expect(diff / scale).toBeLessThan(TOLERANCE);
}

describe('Stable Diffusion 1.x models agree with diffusers (wasm)', () => {
  let models: DiffusionModels;

  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    models = loadDiffusionFolder(DIR);
  }, 120_000);

  afterAll(() => {
    models?.dispose();
    console.table(rows);
  });

  it('tokenizer: token ids of each prompt', () => {
    const prompts = JSON.parse(fs.readFileSync(path.join(DIR, 'prompts.json'), 'utf8')) as string[];
    prompts.forEach((p, i) => {
      expect(models.tokenizer!.encode(p)).toEqual(Array.from(expected(`tokens.${i}`).data));
    });
    rows.push({ output: `tokenizer (${prompts.length} prompts)`, maxAbsDiff: 'exact', refMaxAbs: '-', relative: '0' });
  });

  it('text encoder: last hidden state', async () => {
    const ids = expected('text.input_ids');
    const [b, n] = ids.shape;
    const rowsOf = Array.from({ length: b }, (_, i) => Array.from(ids.data.subarray(i * n, (i + 1) * n)));
    const hidden = models.textEncoder!.encode(rowsOf);
    await compare('text encoder last_hidden_state', hidden, 'text.last_hidden_state', 'plain');
    hidden.dispose();
  }, 60_000);

  it('UNet: noise prediction and every up block output', async () => {
    const sample = nhwc('unet.sample');
    const t = tf.tensor1d(expected('unet.timesteps').data);
    const ctxRef = expected('unet.encoder_hidden_states');
    const context = tf.tensor3d(ctxRef.data, ctxRef.shape as [number, number, number]);
    const out = models.unet!.apply(sample, t, context, true);
    await compare('unet noise', out.noise, 'unet.out', 'nchw');
    for (const [i, f] of out.upFeatures!.entries()) await compare(`unet up_blocks[${i}]`, f, `unet.up${i}`, 'nchw');
    tf.dispose([sample, t, context, out.noise, ...out.upFeatures!]);
  }, 120_000);

  it('VAE: encoder mean and decoder', async () => {
    const image = nhwc('vae.image');
    const mean = models.vae!.encodeMean(image);
    await compare('vae encode (mean)', mean, 'vae.mean', 'nchw');
    const latent = nhwc('vae.latent');
    const decoded = models.vae!.decode(latent);
    await compare('vae decode', decoded, 'vae.decoded', 'nchw');
    tf.dispose([image, mean, latent, decoded]);
  }, 120_000);

  it('DDIM: schedule, inversion to strength 0.7 of 10 steps, and denoising back', async () => {
    const scheduler = new DDIMScheduler(10, loadDDIMConfig(DIR));
    expect(scheduler.timesteps).toEqual(Array.from(expected('ddim.timesteps').data));
    const alphas = tf.tensor1d(Float32Array.from(scheduler.alphasCumprod));
    await compare('ddim alphas_cumprod', alphas, 'ddim.alphas_cumprod', 'plain');
    const ctxRef = expected('unet.encoder_hidden_states');
    const context = tf.tensor3d(ctxRef.data.subarray(0, ctxRef.shape[1] * ctxRef.shape[2]), [1, ctxRef.shape[1], ctxRef.shape[2]]);
    const start = nhwc('ddim.start');
    const inverted: tf.Tensor4D[] = [];
    const { latent, t } = ddimInvert(models.unet!, scheduler, start, context, 0.7, (x) => inverted.push(tf.clone(x)));
    expect(t).toBe(601);
    const invertedAll = tf.concat(inverted);
    await compare(`ddim inversion (${inverted.length} latents)`, invertedAll, 'ddim.inverted', 'nchw');
    const denoised: tf.Tensor4D[] = [];
    const end = ddimDenoise(models.unet!, scheduler, latent, context, 0.7, (x) => denoised.push(tf.clone(x)));
    const denoisedAll = tf.concat(denoised);
    await compare(`ddim denoising (${denoised.length} latents)`, denoisedAll, 'ddim.denoised', 'nchw');
    tf.dispose([alphas, context, start, latent, end, invertedAll, denoisedAll, ...inverted, ...denoised]);
  }, 120_000);
});

describe('the UNet differentiates like diffusers (wasm)', () => {
  it("gradient of a loss on the last up block's features with respect to the latent", async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const models = loadDiffusionFolder(DIR, ['unet']);
    const ctxRef = expected('unet.encoder_hidden_states');
    const context = tf.tensor3d(ctxRef.data.subarray(0, ctxRef.shape[1] * ctxRef.shape[2]), [1, ctxRef.shape[1], ctxRef.shape[2]]);
    const t = tf.tensor1d(expected('grad.timestep').data);
    const weight = nhwc('grad.weight');
    const latent = nhwc('grad.latent');
    const before = tf.memory().numTensors;
    const grad = tf.grad((x: tf.Tensor) => {
      const { noise, upFeatures } = models.unet!.apply(x as tf.Tensor4D, t, context, true);
      const last = upFeatures![upFeatures!.length - 1];
      const loss = tf.sum(tf.mul(last, weight));
      tf.dispose([noise, ...upFeatures!]);
      return loss;
    })(latent);
    await compare('d loss / d latent (up block features)', grad, 'grad.d_latent', 'nchw');
    grad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([context, t, weight, latent]);
    models.dispose();
    console.table(rows.slice(-1));
  }, 120_000);
});
