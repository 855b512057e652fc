/**
 * Diffusion step latents are stored as half floats: the conversions round to nearest (ties to even) across the
 * normal and subnormal ranges, and a latent kept that way decodes, through the real VAE of the tiny fixture, to
 * within a level or two of 255 of the image the float32 latent gives: close enough for a fork from a preview step
 * (replay and export read stored frames, never the latent).
 */
import { describe, expect, it } from 'vitest';
import { decodeDiffusionLatent, diffusionDragRun, initBackend, loadDiffusionDragModels } from '../../engine/src/index.js';
import { floatToHalf, fromFloat16Bytes, halfToFloat, toFloat16Bytes } from '../../server/rooms/float16.js';
import { TINY_DIR } from '../engine/diffusion-reference.js';

describe('float16 step latents', () => {
  it('round to the nearest half float', () => {
    const exact = [0, -0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 1 + 2 ** -10];
    for (const v of exact) expect(Object.is(halfToFloat(floatToHalf(v)), v)).toBe(true);
    // Ties go to the even mantissa; past the range is Infinity; NaN stays NaN.
    expect(halfToFloat(floatToHalf(1 + 2 ** -11))).toBe(1);
    expect(halfToFloat(floatToHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 * 2 ** -10);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
    expect(halfToFloat(floatToHalf(-1e6))).toBe(-Infinity);
    expect(halfToFloat(floatToHalf(Number.NaN))).toBeNaN();
    expect(halfToFloat(floatToHalf(2 ** -26))).toBe(0);
    expect(halfToFloat(floatToHalf(3 * 2 ** -25))).toBe(2 ** -23);
    // Normal values: relative error at most 2^-11.
    let x = 7;
    const values = Float32Array.from({ length: 10_000 }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 20);
    const back = fromFloat16Bytes(toFloat16Bytes(values));
    expect(toFloat16Bytes(values).byteLength).toBe(values.byteLength / 2);
    for (let i = 0; i < values.length; i++) {
      if (Math.abs(values[i]) >= 2 ** -14) expect(Math.abs(back[i] - values[i]) / Math.abs(values[i])).toBeLessThanOrEqual(2 ** -11);
    }
    expect(() => fromFloat16Bytes(new Uint8Array(3))).toThrow(/even byte count/);
  });

  it('decodes a drag step from its half-float clean latent to within 2 levels of its float32 decode', async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const models = loadDiffusionDragModels(TINY_DIR);
    try {
      const data = new Uint8ClampedArray(16 * 16 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
      const run = diffusionDragRun(models, {
        image: { width: 16, height: 16, data }, points: [{ handle: [6, 7], target: [12, 7] }],
        options: { ddimSteps: 10, maxSteps: 2, decodeEvery: 1, masaLayer: 2, lora: { steps: 0 } },
      });
      let compared = 0;
      let worst = 0;
      for await (const e of run) {
        if (e.type !== 'step' || !e.image) continue;
        const half = await decodeDiffusionLatent(models.vae, fromFloat16Bytes(toFloat16Bytes(e.cleanLatent)), 16, 16);
        for (let i = 0; i < half.data.length; i++) worst = Math.max(worst, Math.abs(half.data[i] - e.image.data[i]));
        compared++;
      }
      console.log(`float16 clean latent: worst pixel difference ${worst} of 255 over ${compared} decoded steps`);
      expect(compared).toBe(3);
      expect(worst).toBeLessThanOrEqual(2);
    } finally {
      models.dispose();
    }
  }, 120_000);
});
