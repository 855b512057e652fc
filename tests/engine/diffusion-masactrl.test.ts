// The final denoising with mutual self-attention against DragDiffusion's MutualSelfAttentionControl on
// diffusers (training/reference/diffusion_drag_reference.py): the batch [original, edited] denoised from
// strength 0.7 of 10 DDIM steps, self-attention of the tiny UNet's transformer layers from 2 on sharing the
// original's keys and values. Both clean latents agree within 1e-3; without sharing they differ.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DDIMScheduler, ddimDenoise, denoiseMutual, loadDDIMConfig, masaStartLayer, supervisedUpBlock } from '../../engine/src/index.js';
import { TINY_DIR, nhwc, reference, tinyUNetFixture } from './diffusion-reference.js';
import { relativeError } from './relative-error.js';

const FILE = 'drag-reference.safetensors';

describe("MasaCtrl's start layer", () => {
  it("is DragDiffusion's 10 on SD 1.5's 16 layers and the same share on other UNets, unless given", () => {
    expect(masaStartLayer(16)).toBe(10);
    expect(masaStartLayer(7)).toBe(4);
    expect(masaStartLayer(2)).toBe(1);
    expect(masaStartLayer(1)).toBe(0);
    expect(masaStartLayer(7, 0)).toBe(0);
    expect(masaStartLayer(16, 12)).toBe(12);
  });
});

describe("the drag's feature block", () => {
  it("is DragDiffusion's third of SD 1.5's four up blocks, the one before the last on other UNets, unless given", () => {
    expect(supervisedUpBlock(4)).toBe(2);
    expect(supervisedUpBlock(3)).toBe(1);
    expect(supervisedUpBlock(2)).toBe(0);
    expect(supervisedUpBlock(1)).toBe(0);
    expect(supervisedUpBlock(3, 2)).toBe(2);
    // A block past the last is the last.
    expect(supervisedUpBlock(3, 9)).toBe(2);
  });
});

describe('mutual self-attention denoising (wasm)', () => {
  const tiny = tinyUNetFixture();

  it("agrees with DragDiffusion's MasaCtrl, and sharing changes the edited branch only", async () => {
    const scheduler = new DDIMScheduler(10, loadDDIMConfig(TINY_DIR));
    const original = nhwc(FILE, 'masa.original');
    const edited = nhwc(FILE, 'masa.edited');
    const startLayer = reference(FILE, 'masa.start_layer').data[0];
    const out = denoiseMutual(tiny.unet, scheduler, original, edited, tiny.context, 0.7, startLayer);
    const got = (await tf.transpose(out, [0, 3, 1, 2]).data()) as Float32Array;
    const err = relativeError(got, reference(FILE, 'masa.out').data);
    console.log(`MasaCtrl denoising: max abs diff ${err.diff.toExponential(2)}, relative ${err.relative.toExponential(2)}`);
    expect(err.relative).toBeLessThan(1e-3);
    // Without sharing, the edited branch ends elsewhere (by about 1e-3 relative on these random weights, far
    // above the parity error); the original branch is the same either way.
    const plain = ddimDenoise(tiny.unet, scheduler, tf.concat([original, edited]), tf.tile(tiny.context, [2, 1, 1]) as tf.Tensor3D, 0.7);
    const plainData = (await tf.transpose(plain, [0, 3, 1, 2]).data()) as Float32Array;
    const half = got.length / 2;
    expect(relativeError(plainData.subarray(0, half), got.subarray(0, half)).relative).toBeLessThan(1e-5);
    expect(relativeError(plainData.subarray(half), got.subarray(half)).relative).toBeGreaterThan(2e-4);
    expect(tiny.unet.transformers().every((t) => !t.block.attn1.keysValuesFromFirst)).toBe(true);
    tf.dispose([original, edited, out, plain]);
  }, 120_000);
});
