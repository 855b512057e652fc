/**
 * Jobs through BullMQ to real `npm run worker` processes on a real redis-server: renders and drags come back
 * with the pool's shapes, a job for a model no worker has fails with a clear error, a cancel reaches the worker,
 * and a worker killed with SIGKILL mid-drag ends its run 'interrupted' with its steps while the next drag
 * completes on the other worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullJobQueue } from '../../server/jobs/bull-job-queue.js';
import { redisConnector } from '../../server/cluster/redis-connections.js';
import type { DragJobRequest } from '../../server/jobs/worker-protocol.js';
import { DEFAULT_RUN_SETTINGS } from '../../contract/run-settings.js';
import { startRedis, type RedisFixture } from './redis-server.js';
import { startWorker, workerModelsDir, type WorkerProcess } from './worker-process.js';
import { TINY_MODEL, waitFor } from '../server/helpers.js';

const PREFIX = 'jobs-test';

describe('jobs on worker processes', () => {
  let redis: RedisFixture;
  let models: ReturnType<typeof workerModelsDir>;
  let workers: WorkerProcess[] = [];
  let jobs: BullJobQueue;
  let latent: Float32Array;

  beforeAll(async () => {
    redis = await startRedis();
    models = workerModelsDir();
    const env = { REDIS_URL: redis.url, STABLEDRAG_MODELS: models.dir, STABLEDRAG_REDIS_PREFIX: PREFIX };
    workers = await Promise.all([startWorker(env), startWorker(env)]);
    // Web nodes name models by their own files; the workers know the tiny model as 'tiny'.
    jobs = new BullJobQueue({ redis: redisConnector({ url: redis.url, prefix: PREFIX, nodeId: 'test' }), modelIdOf: (path) => (path === TINY_MODEL ? 'tiny' : path.endsWith('missing.safetensors') ? 'missing' : undefined), log: () => {} });
  }, 120_000);

  afterAll(async () => {
    await jobs?.close();
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
    models?.cleanup();
  }, 60_000);

  const dragJob = (maxSteps: number, lr = 0.01, modelPath = TINY_MODEL): DragJobRequest => ({
    modelPath, latent, points: [{ handle: [10, 10], target: [16, 14] }], settings: { ...DEFAULT_RUN_SETTINGS, maxSteps, lr },
    stallSteps: 10_000, frameFormat: 'webp', frameQuality: 80, record: true,
  });

  it('renders a seed on a worker', async () => {
    const r = await jobs.render({ modelPath: TINY_MODEL, seed: 7, format: 'png' });
    expect(r.meta).toMatchObject({ width: 32, height: 32 });
    expect(r.latent).toBeInstanceOf(Float32Array);
    expect(r.latent.length).toBe(r.meta.numWs * r.meta.wDim);
    expect(Buffer.from(r.image.bytes).subarray(1, 4).toString()).toBe('PNG');
    latent = r.latent;
  }, 60_000);

  it('streams a drag\'s steps back in order and ends it with its final state', async () => {
    const steps: number[] = [];
    let started = false;
    const job = jobs.drag(dragJob(4), { onStart: () => (started = true), onStep: (s) => steps.push(s.step) });
    const end = await job.done;
    expect(started).toBe(true);
    expect(end).toMatchObject({ reason: 'max-steps', steps: 4 });
    expect(steps).toEqual([0, 1, 2, 3, 4]);
    expect(end.final?.latent).toBeInstanceOf(Float32Array);
    expect(end.final?.image.mime).toBe('image/png');
  }, 60_000);

  it('fails a job for a model no worker has with a clear error', async () => {
    const end = await jobs.drag(dragJob(3, 0.01, '/elsewhere/missing.safetensors'), { onStep: () => {} }).done;
    expect(end).toMatchObject({ reason: 'error', steps: 0, error: { code: 'model-unavailable' } });
    expect(end.error?.message).toMatch(/model missing is not available.*worker has no such model/);
    await expect(jobs.render({ modelPath: '/elsewhere/missing.safetensors', seed: 1, format: 'png' })).rejects.toMatchObject({ code: 'model-unavailable' });
  }, 60_000);

  it('cancels a running drag on its worker within a step', async () => {
    let steps = 0;
    const job = jobs.drag(dragJob(1000, 0.0001), { onStep: () => steps++ });
    await waitFor(() => steps >= 2, 'two steps', 60_000);
    job.cancel();
    const end = await job.done;
    expect(end.reason).toBe('cancelled');
    expect(end.steps).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('takes a cancelled drag off the queue before any worker starts it', async () => {
    // Both workers (one device each) busy: the third drag waits in BullMQ.
    const busy = [0, 1].map(() => {
      let steps = 0;
      const job = jobs.drag(dragJob(1000, 0.0001), { onStep: () => steps++ });
      return { job, steps: () => steps };
    });
    await waitFor(() => busy.every((b) => b.steps() >= 1), 'both workers running a drag', 60_000);
    let started = false;
    const waiting = jobs.drag(dragJob(3), { onStart: () => (started = true), onStep: () => {} });
    waiting.cancel();
    expect(await waiting.done).toEqual({ reason: 'cancelled', steps: 0 });
    for (const b of busy) b.job.cancel();
    for (const b of busy) expect((await b.job.done).reason).toBe('cancelled');
    expect(started).toBe(false);
  }, 90_000);

  it('ends a drag whose worker is killed as interrupted with its steps, and the next drag completes on the other worker', async () => {
    const before = workers.map((w) => w.log.join('').split('drag job').length);
    let steps = 0;
    const job = jobs.drag(dragJob(1000, 0.0001), { onStep: () => steps++ });
    await waitFor(() => steps >= 3, 'three steps', 60_000);
    const victim = workers.findIndex((w, i) => w.log.join('').split('drag job').length > before[i]);
    expect(victim).toBeGreaterThanOrEqual(0);
    workers[victim].proc.kill('SIGKILL');
    await workers[victim].exited;
    const end = await job.done;
    expect(end.reason).toBe('interrupted');
    expect(end.error?.code).toBe('worker-lost');
    expect(end.steps).toBeGreaterThanOrEqual(3);
    expect(end.steps).toBe(steps);
    const next = await jobs.drag(dragJob(3), { onStep: () => {} }).done;
    expect(next).toMatchObject({ reason: 'max-steps', steps: 3 });
    workers.splice(victim, 1);
  }, 120_000);
});
