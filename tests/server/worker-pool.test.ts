/** The worker pool on its own: engine errors come back typed, and a dead worker is replaced. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../server/jobs/worker-pool.js';
import { DEFAULT_RUN_SETTINGS } from '../../contract/run-settings.js';
import { TINY_MODEL } from './helpers.js';

describe('WorkerPool', () => {
  let pool: WorkerPool;
  beforeAll(() => {
    pool = new WorkerPool({ size: 1 });
  });
  afterAll(() => pool.close());

  const dragJob = (latent: Float32Array, points: { handle: [number, number]; target: [number, number] }[], maxSteps = 5) => ({
    modelPath: TINY_MODEL, latent, points, settings: { ...DEFAULT_RUN_SETTINGS, maxSteps }, stallSteps: 0, frameFormat: 'webp' as const, frameQuality: 80,
  });

  it('renders a seed and reports engine errors with their codes', async () => {
    const r = await pool.render({ modelPath: TINY_MODEL, seed: 7, format: 'png' });
    expect(r.meta).toMatchObject({ width: 32, height: 32 });
    expect(r.latent.length).toBe(r.meta.numWs * r.meta.wDim);
    expect(r.image.bytes.subarray(1, 4).toString()).toBe('80,78,71'); // "PNG"
    await expect(pool.render({ modelPath: '/nope/model.safetensors', seed: 1, format: 'png' })).rejects.toMatchObject({ code: 'model-load-failed' });
    const bad = await pool.drag(dragJob(r.latent, [{ handle: [40, 1], target: [2, 2] }]), { onStep: () => {} }).done;
    expect(bad).toMatchObject({ reason: 'error', error: { code: 'invalid-drag-input' } });
  });

  it('fails the running drag when its worker dies, then carries on with a fresh worker', async () => {
    const { latent } = await pool.render({ modelPath: TINY_MODEL, seed: 7, format: 'png' });
    let steps = 0;
    const job = pool.drag(dragJob(latent, [{ handle: [4, 4], target: [28, 28] }], 1000), { onStep: () => steps++ });
    while (steps < 2) await new Promise((r) => setTimeout(r, 10));
    // Simulate a crash (e.g. out of memory in the engine).
    await (pool as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers[0].worker.terminate();
    expect(await job.done).toMatchObject({ reason: 'error', error: { code: 'worker-crashed' } });
    const again = await pool.render({ modelPath: TINY_MODEL, seed: 8, format: 'webp' });
    expect(again.image.mime).toBe('image/webp');
  });
});
