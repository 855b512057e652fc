/**
 * Pivotal tuning's weights through the cluster's job queue (BullMQ on a real `npm run worker` process and a
 * real redis-server): an inversion with tuning ends with the weights as bytes, and a render job carrying them
 * draws exactly what the engine's applyPtiWeights draws here; corrupt weights fail the job with the engine's error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { DEFAULT_INVERT_SETTINGS } from '../../contract/invert-settings.js';
import { applyPtiWeights, initBackend, loadBaseModel, renderImageAsync } from '../../engine/src/index.js';
import { startWorkerRig, type WorkerRig } from '../cluster/worker-process.js';
import { TINY_MODEL } from './helpers.js';

const PREFIX = 'pti-jobs-test';

describe('tuned weights on worker processes', () => {
  let rig: WorkerRig;

  beforeAll(async () => {
    rig = await startWorkerRig(PREFIX);
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  it('an inversion with tuning returns its weights, and renders carrying them draw with them', async () => {
    const target = new Uint8Array(await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 90, b: 40 } } }).png().toBuffer());
    const stages: string[] = [];
    const end = await rig.jobs.invert(
      {
        modelPath: TINY_MODEL, target, settings: { ...DEFAULT_INVERT_SETTINGS, wSteps: 3, wPlusSteps: 1, ptiSteps: 2, ptiLr: 0.01, loss: 'pixel' },
        frameFormat: 'webp', frameQuality: 80, frameEvery: 2, storeFrameEvery: 2,
      },
      { onStep: (s) => stages.push(s.stage) },
    ).done;
    expect(end).toMatchObject({ reason: 'done', steps: 6 });
    expect(stages).toEqual(['w', 'w', 'w', 'w+', 'pti', 'pti']);
    const weights = end.final!.weights!;
    expect(weights).toBeInstanceOf(Uint8Array);
    expect(weights.byteLength).toBeGreaterThan(1000);

    await initBackend({ log: () => {} });
    const tuned = applyPtiWeights(await loadBaseModel(TINY_MODEL), weights);
    try {
      const latent = end.final!.latent;
      const here = await renderImageAsync(tuned, latent);
      const expected = await sharp(Buffer.from(here.data.buffer, here.data.byteOffset, here.data.byteLength), { raw: { width: 32, height: 32, channels: 4 } }).removeAlpha().raw().toBuffer();
      const pixels = async (bytes: Uint8Array) => sharp(Buffer.from(bytes)).removeAlpha().raw().toBuffer();
      // The inversion's own end image and a later render job with the weights are both the tuned render.
      const rendered = await rig.jobs.render({ modelPath: TINY_MODEL, latent, format: 'png', weights });
      const plain = await rig.jobs.render({ modelPath: TINY_MODEL, latent, format: 'png' });
      for (const img of [end.final!.image.bytes, rendered.image.bytes]) {
        const got = await pixels(img);
        expect(got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0)).toBeLessThanOrEqual(2);
      }
      expect((await pixels(plain.image.bytes)).equals(await pixels(rendered.image.bytes))).toBe(false);
    } finally {
      tuned.dispose();
    }
    await expect(rig.jobs.render({ modelPath: TINY_MODEL, seed: 1, format: 'png', weights: weights.subarray(0, 500) })).rejects.toMatchObject({ code: 'invalid-pti-weights' });
  }, 180_000);
});
