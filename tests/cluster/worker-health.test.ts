/**
 * A worker process's health and drain: with STABLEDRAG_WORKER_PORT it answers /api/health/live and
 * /api/health/ready (Redis, its drag threads, draining); web nodes count it among the live workers through the
 * registry in Redis; on SIGTERM its readiness fails, it leaves the registry, takes no new job, and a drag still
 * running after STABLEDRAG_WORKER_DRAIN_SECONDS is stopped with its steps, before the process exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUN_SETTINGS } from '../../contract/run-settings.js';
import { startWorkerRig, type WorkerRig } from './worker-process.js';
import { TINY_MODEL, waitFor } from '../server/helpers.js';

const PREFIX = 'worker-health';

describe('a worker process\'s health endpoints and drain', () => {
  let rig: WorkerRig;
  let url: string;

  beforeAll(async () => {
    rig = await startWorkerRig(PREFIX, {
      STABLEDRAG_NODE_ID: 'gpu-1', STABLEDRAG_WORKER_PORT: '0', HOST: '127.0.0.1', STABLEDRAG_WORKER_DRAIN_SECONDS: '1',
    });
    const port = /health on port (\d+)/.exec(rig.worker.log.join(''))?.[1];
    expect(port, rig.worker.log.join('')).toBeDefined();
    url = `http://127.0.0.1:${port}`;
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  it('answers liveness and readiness, and nothing else', async () => {
    expect((await fetch(`${url}/api/health/live`)).status).toBe(200);
    const ready = await fetch(`${url}/api/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, redis: 'ok', workers: '1 of 1 live', failed: [] });
    expect((await fetch(`${url}/api/health`)).status).toBe(200);
    expect((await fetch(`${url}/api/runs`)).status).toBe(404);
    expect((await fetch(`${url}/api/health/ready`, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('is counted by web nodes while it lives', async () => {
    await waitFor(() => rig.jobs.liveWorkers().live === 1, 'the web node to count the worker', 20_000);
    expect(rig.jobs.liveWorkers()).toEqual({ live: 1, size: 1 });
  });

  it('drains on SIGTERM: not ready, not counted, its running drag stopped with its steps, then exits 0', async () => {
    const render = await rig.jobs.render({ modelPath: TINY_MODEL, seed: 3, format: 'png' });
    let steps = 0;
    const drag = rig.jobs.drag(
      {
        modelPath: TINY_MODEL, latent: render.latent, points: [{ handle: [10, 10], target: [16, 14] }],
        settings: { ...DEFAULT_RUN_SETTINGS, maxSteps: 1000, lr: 0.0001 }, stallSteps: 10_000, frameFormat: 'webp', frameQuality: 80, record: true,
      },
      { onStep: () => steps++ },
    );
    let ended: unknown;
    void drag.done.then((e) => (ended = e));
    await waitFor(() => steps >= 2 || ended, 'the drag to run', 60_000);
    expect(ended).toBeUndefined();
    rig.worker.proc.kill('SIGTERM');
    await waitFor(() => rig.worker.log.join('').includes('draining'), 'the worker to begin draining', 20_000);
    const during = await fetch(`${url}/api/health/ready`).then((r) => r.status, () => 'gone');
    // Usually 503 (draining); the process may already have exited on a loaded machine.
    expect([503, 'gone']).toContain(during);
    await waitFor(() => rig.jobs.liveWorkers().live === 0, 'the web node to stop counting it', 20_000);
    const end = await drag.done;
    expect(end.reason).toBe('cancelled');
    expect(end.steps).toBeGreaterThanOrEqual(2);
    expect(await rig.worker.exited).toBe(0);
  }, 120_000);
});
