// bench:diffusion-speed's measurement on the tiny fixture's sizes (random weights): the brief edit runs
// through every stage and the record is complete, the extrapolation uses the engine's defaults, the UNet
// timing returns, and SD 1.5's sizes are SD 1.5's. Only the shape of the record is checked, never a time.
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { DEFAULT_DIFFUSION_DRAG, initBackend } from '../../engine/src/index.js';
import { randomModels, SD15, specFromFolder, timeEdit, timeUNet } from '../../bench/diffusion-speed.js';

const TINY_DIR = path.join(__dirname, '..', 'fixtures', 'diffusion', 'tiny');

describe('diffusion speed measurement', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
  });

  it('times a brief edit per stage and extrapolates to the defaults', async () => {
    const spec = specFromFolder(TINY_DIR);
    expect(spec.unet.sampleSize).toBe(8);
    const models = randomModels(spec, TINY_DIR, spec.ddim!);
    try {
      const t = await timeEdit(models, 32, { loraSteps: 2, loraBatch: 1, ddimSteps: 10, maxSteps: 2 });
      expect(t.error).toBeUndefined();
      expect(t.stages.counts).toEqual({ lora: 2, invert: 1, drag: 3, denoise: 1 });
      for (const v of Object.values(t.perStep)) expect(v).toBeGreaterThan(0);
      const d = t.defaults;
      expect(d.dragSteps).toBe(DEFAULT_DIFFUSION_DRAG.maxSteps);
      expect(d.loraSteps).toBe(DEFAULT_DIFFUSION_DRAG.lora.steps);
      expect(d.inversionSteps).toBe(Math.floor(DEFAULT_DIFFUSION_DRAG.ddimSteps * DEFAULT_DIFFUSION_DRAG.inversionStrength));
      expect(d.seconds).toBeGreaterThan(d.withoutLora);
      const u = await timeUNet(models, 1);
      expect(u.forward).toBeGreaterThan(0);
      expect(u.forwardBackward).toBeGreaterThan(0);
    } finally {
      models.unet.dispose();
      models.vae.dispose();
      models.textEncoder.dispose();
    }
  });

  it('reports an edit the engine refuses as an error, not as times', async () => {
    const spec = specFromFolder(TINY_DIR);
    const models = randomModels(spec, TINY_DIR, spec.ddim!);
    try {
      // 30 px is not a multiple of the tiny model's factor of 4.
      const t = await timeEdit(models, 30, { loraSteps: 1, loraBatch: 1, ddimSteps: 10, maxSteps: 1 });
      expect(t.error).toMatch(/multiples of 4/);
    } finally {
      models.unet.dispose();
      models.vae.dispose();
      models.textEncoder.dispose();
    }
  });

  it("holds SD 1.5's sizes", () => {
    expect(SD15.unet.blockOutChannels).toEqual([320, 640, 1280, 1280]);
    expect(SD15.unet.sampleSize * 2 ** (SD15.vae.blockOutChannels.length - 1)).toBe(512);
    expect(SD15.text.hiddenSize).toBe(SD15.unet.crossAttentionDim);
  });
});
