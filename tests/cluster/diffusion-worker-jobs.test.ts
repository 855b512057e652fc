/**
 * A diffusion drag through BullMQ to a real `npm run worker` process on a real redis-server: the same job type as
 * a GAN drag, named by model id, streams its LoRA and inversion stages and its recorded steps (latent, frames) back,
 * and ends with the denoised image; a preview step's clean latent decodes there (a fork's render job); a cancel in
 * the LoRA stage and between DDIM steps of the inversion reaches the worker.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { BullJobQueue } from '../../server/jobs/bull-job-queue.js';
import { redisConnector } from '../../server/cluster/redis-connections.js';
import type { DiffusionDragJobRequest, DragStepMessage } from '../../server/jobs/worker-protocol.js';
import { DEFAULT_DIFFUSION_SETTINGS } from '../../contract/diffusion-settings.js';
import { startRedis, type RedisFixture } from './redis-server.js';
import { startWorker, type WorkerProcess } from './worker-process.js';
import { waitFor } from '../server/helpers.js';

const PREFIX = 'diffusion-jobs-test';
const FIXTURE = resolve(import.meta.dirname, '../fixtures/diffusion/tiny');
/** The web node's own path for the model; workers find theirs by the id. */
const WEB_PATH = '/web-node/models/tinydiff';

describe('diffusion drags on worker processes', () => {
  let redis: RedisFixture;
  let dir: string;
  let worker: WorkerProcess;
  let jobs: BullJobQueue;
  let image: Uint8Array;

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'stabledrag-diffusion-models-'));
    cpSync(FIXTURE, join(dir, 'tinydiff'), { recursive: true, filter: (src) => !src.endsWith('reference.safetensors') });
    worker = await startWorker({ REDIS_URL: redis.url, STABLEDRAG_MODELS: dir, STABLEDRAG_REDIS_PREFIX: PREFIX });
    jobs = new BullJobQueue({ redis: redisConnector({ url: redis.url, prefix: PREFIX, nodeId: 'test' }), modelIdOf: (p) => (p === WEB_PATH ? 'tinydiff' : undefined), log: () => {} });
    const raw = Buffer.alloc(16 * 16 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 256;
    image = new Uint8Array(await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer());
  }, 120_000);

  afterAll(async () => {
    await jobs?.close();
    await worker?.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const job = (loraSteps: number): DiffusionDragJobRequest => ({
    kind: 'diffusion', modelPath: WEB_PATH, image, prompt: 'a test', points: [{ handle: [4, 8], target: [12, 8] }],
    settings: { ...DEFAULT_DIFFUSION_SETTINGS, loraSteps, ddimSteps: 10, maxSteps: 3, decodeEvery: 2 }, frameFormat: 'webp', frameQuality: 80,
  });

  it('streams stages and recorded steps back and ends with the denoised image', async () => {
    const steps: DragStepMessage[] = [];
    const end = await jobs.drag(job(2), { onStep: (s) => steps.push(s) }).done;
    expect(end.error).toBeUndefined();
    expect(end.final?.image.mime).toBe('image/png');
    const stages = steps.map((s) => s.diffusion?.stage);
    expect(stages.slice(0, 3)).toEqual(['lora', 'lora', 'invert']);
    const drags = steps.filter((s) => s.diffusion?.stage === 'drag');
    expect(drags.length).toBeGreaterThanOrEqual(2);
    expect(drags.every((s) => s.latent instanceof Float32Array && s.latent.length === 8 * 8 * 4 && s.stored?.mime === 'image/webp')).toBe(true);
    // A fork from a preview step: the worker decodes the step's clean latent with the model's VAE.
    const preview = drags.find((s) => !s.diffusion?.decoded)!;
    const rendered = await jobs.render({ modelPath: WEB_PATH, latent: preview.latent, format: 'png', diffusion: { width: 16, height: 16 } });
    expect(rendered.image).toMatchObject({ mime: 'image/png', width: 16, height: 16 });
    const meta = await sharp(Buffer.from(rendered.image.bytes)).metadata();
    expect([meta.width, meta.height]).toEqual([16, 16]);
  }, 120_000);

  it('cancels a drag between DDIM steps of its inversion on the worker', async () => {
    let inverted = 0;
    const long = { ...job(0), settings: { ...job(0).settings, ddimSteps: 100, inversionStrength: 1 } };
    const handle = jobs.drag(long, { onStep: (s) => s.diffusion?.stage === 'invert' && inverted++ });
    await waitFor(() => inverted >= 2, 'inversion steps', 60_000);
    handle.cancel();
    const end = await handle.done;
    expect(end.reason).toBe('cancelled');
    expect(inverted).toBeLessThan(100);
  }, 120_000);

  it('cancels a drag in its LoRA stage on the worker', async () => {
    let lora = 0;
    const handle = jobs.drag(job(500), { onStep: (s) => s.diffusion?.stage === 'lora' && lora++ });
    await waitFor(() => lora >= 2, 'LoRA steps', 60_000);
    handle.cancel();
    const end = await handle.done;
    expect(end.reason).toBe('cancelled');
    expect(end.final).toBeUndefined();
  }, 120_000);
});
