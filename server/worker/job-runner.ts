/**
 * A worker process's side of a job (bull-protocol.ts): finds the job's model in this machine's models
 * directory by id, hands the job to the worker-thread pool (the same one `npm start` runs drags on) and sends
 * every step and the end back on the job's reply channel. Tensor work stays in the pool's threads, so this
 * process's event loop stays free to renew the BullMQ lock of a long drag.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobQueue } from '../jobs/job-queue.js';
import type { DragEndMessage, DragJobRequest, InvertEndMessage, InvertJobRequest, RenderJob } from '../jobs/worker-protocol.js';
import { decodeWire, encodeWire } from '../jobs/wire-codec.js';
import { cancelledKey, type BullJobData, type JobReply } from '../jobs/bull-protocol.js';
import { MODEL_ID, modelUnavailableMessage, type ModelRegistry } from '../rooms/model-registry.js';

export interface JobRunnerDeps {
  pool: JobQueue;
  models: ModelRegistry;
  /** Publishes replies and reads cancel marks. */
  redis: Redis;
  prefix: string;
  log: (line: string) => void;
}

export class JobRunner {
  private readonly running = new Map<string, { cancel(): void }>();

  constructor(private readonly deps: JobRunnerDeps) {}

  /** A cancel for `jobId` (from any web node): stops it within a step if it runs here. */
  cancel(jobId: string): void {
    this.running.get(jobId)?.cancel();
  }

  /** Stops every drag running here (a drain that ran out of time). */
  cancelAll(): void {
    for (const handle of this.running.values()) handle.cancel();
  }

  async process(job: Job<BullJobData>): Promise<void> {
    const { redis, prefix } = this.deps;
    const jobId = job.id!;
    const { kind, modelId, reply: channel } = job.data;
    // Publishes on one connection keep their order: the end never overtakes a step.
    const reply = (msg: JobReply) => void redis.publish(channel, encodeWire(msg)).catch((err: Error) => this.deps.log(`[worker] reply for job ${jobId}: ${err.message}`));
    const modelPath = this.modelPath(modelId);
    if (typeof modelPath !== 'string') {
      if (kind === 'drag' || kind === 'invert') reply({ type: 'end', end: { reason: 'error', steps: 0, error: modelPath } });
      else reply({ type: 'failed', error: modelPath });
      return;
    }
    const request = decodeWire(Buffer.from(job.data.request, 'base64')) as object;
    if (kind === 'render') {
      try {
        reply({ type: 'rendered', result: await this.deps.pool.render({ ...(request as RenderJob), modelPath }, { caller: jobId }) });
      } catch (err) {
        reply({ type: 'failed', error: { code: (err as { code?: string }).code ?? 'render-failed', message: (err as Error).message } });
      }
      return;
    }
    const onStart = () => reply({ type: 'start' });
    const handle: { cancel(): void; done: Promise<DragEndMessage | InvertEndMessage> } =
      kind === 'invert'
        ? this.deps.pool.invert({ ...(request as InvertJobRequest), modelPath }, { onStart, onStep: (step) => reply({ type: 'invert-step', step }) })
        : this.deps.pool.drag({ ...(request as DragJobRequest), modelPath }, { onStart, onStep: (step) => reply({ type: 'step', step }) });
    this.running.set(jobId, handle);
    this.deps.log(`[worker] ${kind} job ${jobId} taken (pid ${process.pid})`);
    try {
      // Cancelled while it waited in the queue, too late to be taken off it.
      if (await redis.exists(cancelledKey(prefix, jobId))) handle.cancel();
      reply({ type: 'end', end: await handle.done });
    } finally {
      this.running.delete(jobId);
    }
  }

  /** This machine's file of the model, or the error a job for a model it lacks ends with. */
  private modelPath(id: string): string | { code: string; message: string } {
    const { models } = this.deps;
    if (typeof id !== 'string' || !MODEL_ID.test(id)) return { code: 'model-unavailable', message: 'the job names no valid model id' };
    // A model added to the directory since the last scan is found without restarting the worker.
    if (!models.get(id)) models.rescan();
    const model = models.get(id);
    if (model) return model.path;
    return { code: 'model-unavailable', message: modelUnavailableMessage(id, `the worker has no such model (${models.unavailableReason(id)})`) };
  }
}
