/**
 * A photo's inversion through BullMQ on real `npm run worker` processes and a real redis-server: its steps come
 * back in order with their latents and frames, it ends with the last good state, and Stop reaches the worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { InvertJobRequest } from '../../server/jobs/worker-protocol.js';
import { DEFAULT_INVERT_SETTINGS } from '../../contract/invert-settings.js';
import { startWorkerRig, type WorkerRig } from './worker-process.js';
import { TINY_MODEL, waitFor } from '../server/helpers.js';

const PREFIX = 'invert-jobs-test';

describe('inversions on worker processes', () => {
  let rig: WorkerRig;
  let target: Uint8Array;

  beforeAll(async () => {
    rig = await startWorkerRig(PREFIX);
    target = new Uint8Array(await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 90, b: 40 } } }).png().toBuffer());
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  const invertJob = (wSteps: number, wPlusSteps: number): InvertJobRequest => ({
    modelPath: TINY_MODEL, target, settings: { ...DEFAULT_INVERT_SETTINGS, wSteps, wPlusSteps, loss: 'pixel' },
    frameFormat: 'webp', frameQuality: 80, frameEvery: 2, storeFrameEvery: 2,
  });

  it('streams an inversion\'s steps and ends with its last latent and its render', async () => {
    const steps: { step: number; stage: string; latent: number; frame: boolean }[] = [];
    const end = await rig.jobs.invert(invertJob(6, 2), { onStep: (s) => steps.push({ step: s.step, stage: s.stage, latent: s.latent.length, frame: !!s.image }) }).done;
    expect(end).toMatchObject({ reason: 'done', steps: 8, loss: 'pixel-multiscale' });
    expect(steps.map((s) => s.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(steps.map((s) => s.stage)).toEqual(['w', 'w', 'w', 'w', 'w', 'w', 'w+', 'w+']);
    expect(steps.every((s) => s.latent > 0)).toBe(true);
    expect(steps.filter((s) => s.frame).length).toBeGreaterThan(0);
    expect(end.final?.latent).toBeInstanceOf(Float32Array);
    expect(end.final?.image.mime).toBe('image/png');
  }, 120_000);

  it('cancels a running inversion on its worker within a step, keeping its last good state', async () => {
    let steps = 0;
    const job = rig.jobs.invert(invertJob(5000, 0), { onStep: () => steps++ });
    await waitFor(() => steps >= 2, 'two steps', 60_000);
    job.cancel();
    const end = await job.done;
    expect(end.reason).toBe('cancelled');
    expect(end.steps).toBeLessThan(5000);
    expect(end.final?.latent).toBeInstanceOf(Float32Array);
  }, 120_000);
});
