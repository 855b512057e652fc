// The faces diffusion model trained by training/diffusion/ loads through the engine's diffusers loader and
// samples as PyTorch does: export.py writes, next to the folder, a 10-step DDIM sample from one seeded noise
// (prompt 'a photo of a face', F16-rounded weights) and the test runs the same sample with the engine's
// tokenizer, text encoder, DDIMScheduler, UNet and VAE. Agreement within 1e-3 of the reference's largest
// magnitude shows the training code's modules carry diffusers' names and maths.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorRelativeError } from './relative-error.js';
import { DDIMScheduler, ddimDenoise, initBackend, loadDDIMConfig, loadDiffusionFolder, masaStartLayer, parseSafetensors, resolveDiffusionDragOptions, type DiffusionModels } from '../../engine/src/index.js';

const ROOT = path.join(__dirname, '..', '..');
const MODEL_DIR = path.join(ROOT, 'models', 'faces-diffusion');
const REFERENCE = path.join(ROOT, 'tests', 'fixtures', 'diffusion', 'faces-reference.safetensors');
const TOLERANCE = 1e-3;

const ref = parseSafetensors(new Uint8Array(fs.readFileSync(REFERENCE)));

function expected(name: string): { shape: number[]; data: Float32Array } {
  const t = ref.tensors.get(name);
  if (!t) throw new Error(`faces-reference.safetensors has no '${name}'`);
  return t;
}

/** The relative error of an NHWC engine tensor against an NCHW reference (others as they are). */
async function relativeError(actual: tf.Tensor, name: string): Promise<number> {
  const got = actual.rank === 4 ? tf.transpose(actual, [0, 3, 1, 2]) : actual;
  try {
    return tensorRelativeError(got, expected(name));
  } finally {
    if (got !== actual) got.dispose();
  }
}

describe('the bundled faces diffusion model (wasm)', () => {
  let models: DiffusionModels;

  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    models = loadDiffusionFolder(MODEL_DIR);
  }, 120_000);

  afterAll(() => models?.dispose());

  it('is a 128 px model: 16x16 latents, VAE factor 8', () => {
    expect(models.unet!.config.sampleSize * models.vae!.downFactor).toBe(128);
  });

  it("shares its later up-block layers in the final denoising at a drag's defaults (MasaCtrl)", () => {
    // 7 transformer layers: down 2, mid 1, up 2 + 2. DragDiffusion's absolute 10 would share none of them.
    const count = models.unet!.transformers().length;
    expect(count).toBe(7);
    const start = masaStartLayer(count, resolveDiffusionDragOptions().masaLayer);
    expect(start).toBe(4);
    expect(count - start).toBe(3);
  });

  it('samples as PyTorch does: prompt, 10 DDIM steps from the reference noise, VAE decode', async () => {
    const prompt = ref.metadata.prompt;
    expect(models.tokenizer!.encode(prompt)).toEqual(Array.from(expected('prompt.ids').data));
    const context = models.textEncoder!.encode([models.tokenizer!.encode(prompt)]);
    expect(await relativeError(context, 'context')).toBeLessThan(TOLERANCE);
    const n = expected('noise');
    const noise = tf.tidy(() => tf.transpose(tf.tensor4d(n.data, n.shape as [number, number, number, number]), [0, 2, 3, 1]));
    const scheduler = new DDIMScheduler(10, loadDDIMConfig(MODEL_DIR));
    const latent = ddimDenoise(models.unet!, scheduler, noise, context, 1);
    expect(await relativeError(latent, 'latent')).toBeLessThan(TOLERANCE);
    const image = tf.tidy(() => models.vae!.decode(tf.div(latent, models.vae!.config.scalingFactor) as tf.Tensor4D));
    expect(await relativeError(image, 'image')).toBeLessThan(TOLERANCE);
    tf.dispose([context, noise, latent, image]);
  }, 120_000);
});
