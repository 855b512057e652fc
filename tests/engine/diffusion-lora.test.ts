// LoRA on the UNet's attention projections: the denoising loss and its gradient for every adapter agree
// with diffusers' LoRALinearLayer on the tiny fixture (training/reference/diffusion_drag_reference.py), the
// base weights never train, and training on one image lowers its denoising loss.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DDIMScheduler,
  DiffusionInputError,
  UNetLoRA,
  denoisingLoss,
  initBackend,
  loadDDIMConfig,
  loadDiffusionFolder,
  resolveDiffusionDragOptions,
  resolveLoRAOptions,
  trainLoRA,
  type DiffusionModels,
} from '../../engine/src/index.js';
import { TINY_DIR, nhwc, reference, tinyContext } from './diffusion-reference.js';
import { relativeError } from './relative-error.js';

const FILE = 'drag-reference.safetensors';

describe('LoRA on the diffusion UNet (wasm)', () => {
  let models: DiffusionModels;
  let scheduler: DDIMScheduler;
  let context: tf.Tensor3D;

  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    models = loadDiffusionFolder(TINY_DIR, ['unet']);
    scheduler = new DDIMScheduler(50, loadDDIMConfig(TINY_DIR));
    context = tinyContext();
  }, 120_000);

  afterAll(() => {
    context?.dispose();
    models?.dispose();
  });

  it("the loss and every adapter's gradient agree with diffusers", async () => {
    const rank = reference(FILE, 'lora.rank').data[0];
    const lora = new UNetLoRA(models.unet!, rank, 3);
    expect(lora.adapters.length).toBe(32);
    lora.assign((name, part) => {
      const t = reference(FILE, `lora.${name}.${part}`);
      return tf.tensor2d(t.data, t.shape as [number, number]);
    });
    const latent = nhwc(FILE, 'lora.latent');
    const noise = nhwc(FILE, 'lora.noise');
    const timesteps = Array.from(reference(FILE, 'lora.timesteps').data);
    const baseVars = Object.keys(tf.engine().registeredVariables).length;
    const { value, grads } = tf.variableGrads(() => denoisingLoss(models.unet!, scheduler, latent, noise, timesteps, context), lora.variables());
    // Only the adapters are variables: the UNet's own weights cannot receive an update.
    expect(Object.keys(grads).length).toBe(64);
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(baseVars);
    const loss = (await value.data())[0];
    expect(Math.abs(loss - reference(FILE, 'lora.loss').data[0]) / loss).toBeLessThan(1e-4);
    let worst = 0;
    for (const a of lora.adapters) {
      for (const part of ['down', 'up'] as const) {
        const g = tf.transpose(grads[(part === 'down' ? a.down : a.up).name]);
        const err = relativeError((await g.data()) as Float32Array, reference(FILE, `lora.${a.name}.${part}.grad`).data);
        g.dispose();
        worst = Math.max(worst, err.relative);
      }
    }
    console.log(`LoRA gradient: worst relative error over 64 tensors ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-3);
    tf.dispose([value, latent, noise, ...Object.values(grads)]);
    lora.dispose();
  }, 120_000);

  it('an untrained LoRA changes nothing; a detached one leaves the UNet as loaded', async () => {
    const latent = nhwc(FILE, 'lora.latent');
    const t = tf.tensor1d([500]);
    const before = models.unet!.apply(latent, t, context).noise;
    const lora = new UNetLoRA(models.unet!, 16, 1);
    const withLora = models.unet!.apply(latent, t, context).noise;
    expect(relativeError((await withLora.data()) as Float32Array, (await before.data()) as Float32Array).diff).toBe(0);
    lora.dispose();
    expect(models.unet!.transformers().every((tr) => !tr.block.attn1.toQ.adapter)).toBe(true);
    tf.dispose([latent, t, before, withLora]);
  }, 60_000);

  it('training on one image lowers its denoising loss', async () => {
    const latent = nhwc(FILE, 'lora.latent');
    const evalNoise = tf.randomNormal([8, 8, 8, 4], 0, 1, 'float32', 99) as tf.Tensor4D;
    const evalSteps = [50, 150, 300, 450, 600, 750, 900, 990];
    const evaluate = async () => {
      const l = denoisingLoss(models.unet!, scheduler, latent, evalNoise, evalSteps, context);
      const v = (await l.data())[0];
      l.dispose();
      return v;
    };
    const before = await evaluate();
    const progress: number[] = [];
    const lora = await trainLoRA(models.unet!, scheduler, latent, context, resolveLoRAOptions({ steps: 30, batch: 4, lr: 5e-3, rank: 8 }), (p) => {
      progress.push(p.step);
    });
    const after = await evaluate();
    console.log(`LoRA training (30 steps, lr 5e-3): eval loss ${before.toFixed(4)} -> ${after.toFixed(4)}`);
    expect(progress).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(after).toBeLessThan(before * 0.95);
    lora.dispose();
    tf.dispose([latent, evalNoise]);
  }, 180_000);

  it('refuses bad LoRA options by name', () => {
    expect(() => resolveLoRAOptions({ rank: 0 })).toThrow(DiffusionInputError);
    expect(() => resolveLoRAOptions({ rank: 2.5 })).toThrow(/lora.rank must be an integer/);
    expect(() => resolveLoRAOptions({ lr: Number.NaN })).toThrow(/lora.lr must be a finite number/);
    expect(() => resolveLoRAOptions({ batch: 1e6 })).toThrow(/lora.batch must be in/);
    expect(() => resolveLoRAOptions({ rnak: 4 } as never)).toThrow(/unknown option lora.rnak/);
    expect(resolveLoRAOptions()).toEqual({ rank: 16, lr: 5e-4, steps: 80, batch: 4, seed: 42 });
    // The drag's defaults are DragDiffusion's.
    expect(resolveDiffusionDragOptions()).toMatchObject({
      method: 'stabledrag-diff', ddimSteps: 50, inversionStrength: 0.7, rM: 1, rP: 3, lambda: 0.1, lr: 0.01, maxSteps: 80, stopDistance: 2,
    });
    // MasaCtrl's start layer and the feature block are the model's (masaStartLayer, supervisedUpBlock) unless given.
    expect(resolveDiffusionDragOptions().masaLayer).toBeUndefined();
    expect(resolveDiffusionDragOptions().featureBlock).toBeUndefined();
    expect(resolveDiffusionDragOptions({ featureBlock: 1 }).featureBlock).toBe(1);
    expect(() => resolveDiffusionDragOptions({ featureBlock: 1.5 })).toThrow(/featureBlock must be an integer/);
    expect(resolveDiffusionDragOptions({ masaLayer: 3 }).masaLayer).toBe(3);
    expect(() => resolveDiffusionDragOptions({ masaLayer: -1 })).toThrow(/masaLayer must be in/);
  });
});
