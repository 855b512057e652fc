/**
 * JobQueue on BullMQ: drags and renders leave the web node as jobs on Redis and run in worker processes
 * (`npm run worker`, server/worker/) on any machine. Each job's steps, end or result come back on a pub/sub
 * channel of the node that submitted it (bull-protocol.ts), in the shapes the worker-thread pool uses, so the
 * run's turn (drag-run.ts) cannot tell the two apart.
 *
 * A worker that dies mid-job stops renewing its job's lock; another worker's stalled-job check then fails the
 * job (maxStalledCount 0: a drag whose steps are already recorded is never run again from its start) and this
 * queue ends it as 'interrupted' with the steps that arrived, which the recorder has kept.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { BusyError, type DragJobHandle, type DragListener, type InvertJobHandle, type InvertListener, type JobQueue, type RenderOptions } from './job-queue.js';
import type { DragEndMessage, DragJobRequest, DragStepMessage, InvertEndMessage, InvertJobRequest, InvertStepMessage, RenderJob, RenderResult } from './worker-protocol.js';
import type { RedisConnector } from '../cluster/redis-connections.js';
import { decodeWire, encodeWire } from './wire-codec.js';
import { liveWorkerDevices } from './bull-worker-registry.js';
import {
  bullPrefix, cancelChannel, cancelledKey, CANCEL_MEMORY_SECONDS, isStalledFailure, JOB_QUEUE_NAMES, JOB_QUEUE_OF, replyChannel, replyPattern,
  type BullJobData, type JobKind, type JobQueueName, type JobReply,
} from './bull-protocol.js';

/** How long after BullMQ reports a job completed its end may still arrive on the reply channel. */
const REPLY_GRACE_MS = 5000;
/** How often the live workers are counted for readiness. */
const WORKER_COUNT_MS = 2000;

export interface BullJobQueueOptions {
  redis: RedisConnector;
  /** The id of the model whose file is `path` on this node (the registry's byPath); workers find it by id. */
  modelIdOf(path: string): string | undefined;
  /** Renders this node may have waiting, in all and per caller (ServerLimits.rendersWaiting...). Default 32 and 8. */
  rendersWaiting?: number;
  rendersWaitingPerCaller?: number;
  /** Told each finished drag's step times as its worker measured them (ms), by model file (the model list shows them). */
  onDragSteps?: (modelPath: string, stepMs: number[]) => void;
  /** Names this node's reply channels (default: a random id); unique to this start of the process. */
  node?: string;
  log?: (line: string) => void;
}

export class JobError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

interface PendingJob {
  onReply(reply: JobReply): void;
  /** The job failed in BullMQ without a reply (its worker died, or the processor threw). */
  onFailed(reason: string): void;
}

export class BullJobQueue implements JobQueue {
  /** Names this node's reply channels: replies for other nodes' jobs never reach it. */
  private readonly node: string;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly queues: Map<JobQueueName, Queue>;
  private readonly events: QueueEvents[];
  /** The QueueEvents' connections: BullMQ leaves connections it was given open, so close() quits them. */
  private readonly eventConnections: Redis[] = [];
  private readonly pending = new Map<string, PendingJob>();
  private readonly rendersByCaller = new Map<string, number>();
  private rendersPending = 0;
  private readonly ready: Promise<unknown>;
  private closed = false;
  /** The worker devices alive at the last look (bull-worker-registry.ts); readiness asks synchronously. */
  private workerDevices = 0;
  private readonly workerWatch: NodeJS.Timeout;

  constructor(private readonly opts: BullJobQueueOptions) {
    const { redis } = opts;
    this.node = opts.node ?? randomUUID();
    const log = opts.log ?? ((line) => console.warn(line));
    this.commands = redis.connect('jobs');
    this.subscriber = redis.connect('job-replies');
    const prefix = bullPrefix(redis.prefix);
    this.queues = new Map(JOB_QUEUE_NAMES.map((name) => [name, new Queue(name, { connection: this.commands, prefix })]));
    this.events = JOB_QUEUE_NAMES.map((name) => {
      const connection = redis.connect(`job-events-${name}`);
      this.eventConnections.push(connection);
      const events = new QueueEvents(name, { connection, prefix });
      events.on('failed', ({ jobId, failedReason }) => this.pending.get(jobId)?.onFailed(failedReason));
      // The end is published before the job completes, so it is normally here first; a job still waiting for
      // it a while after completing lost its reply (a dropped subscriber connection) and must not hold its room.
      events.on('completed', ({ jobId }) => {
        if (!this.pending.has(jobId)) return;
        setTimeout(() => this.pending.get(jobId)?.onFailed('the job finished but its end never arrived here (a lost Redis connection?)'), REPLY_GRACE_MS).unref();
      });
      events.on('error', (err) => log(`[jobs] queue events (${name}): ${err.message}`));
      return events;
    });
    for (const q of this.queues.values()) q.on('error', (err) => log(`[jobs] queue: ${err.message}`));
    this.subscriber.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => {
      const jobId = channel.toString().split(':').at(-1)!;
      const job = this.pending.get(jobId);
      if (!job) return;
      try {
        job.onReply(decodeWire(message) as JobReply);
      } catch (err) {
        log(`[jobs] ignored a reply for job ${jobId}: ${(err as Error).message}`);
      }
    });
    const countWorkers = () => {
      if (this.commands.status !== 'ready') return;
      liveWorkerDevices(this.commands, redis.prefix).then((n) => (this.workerDevices = n), (err: Error) => log(`[jobs] counting workers: ${err.message}`));
    };
    countWorkers();
    this.workerWatch = setInterval(countWorkers, WORKER_COUNT_MS);
    this.workerWatch.unref();
    // Subscribed before the first job is added: a reply can never come before its listener.
    this.ready = Promise.all([this.subscriber.psubscribe(replyPattern(redis.prefix, this.node)), ...this.events.map((e) => e.waitUntilReady())]);
  }

  drag(job: DragJobRequest, listener: DragListener): DragJobHandle {
    // As the pool: only a GAN drag's step times are the model list's.
    const { done, cancel } = this.streamed('drag', job.modelPath, job, { ...listener, onStep: (step) => listener.onStep(step as DragStepMessage) }, (stepMs) =>
      job.kind !== 'diffusion' && this.opts.onDragSteps?.(job.modelPath, stepMs),
    );
    return { done: done as Promise<DragEndMessage>, cancel };
  }

  /** An inversion goes the way of a drag: the 'steps' queue, its steps and end on the reply channel. */
  invert(job: InvertJobRequest, listener: InvertListener): InvertJobHandle {
    const { done, cancel } = this.streamed('invert', job.modelPath, job, { ...listener, onStep: (step) => listener.onStep(step as InvertStepMessage) });
    return { done: done as Promise<InvertEndMessage>, cancel };
  }

  private streamed(
    kind: 'drag' | 'invert', modelPath: string, request: object,
    listener: { onPosition?(ahead: number): void; onStart?(): void; onStep(step: DragStepMessage | InvertStepMessage): void },
    onSteps?: (stepMs: number[]) => void,
  ): { done: Promise<DragEndMessage | InvertEndMessage>; cancel(): void } {
    let resolve!: (end: DragEndMessage | InvertEndMessage) => void;
    const done = new Promise<DragEndMessage | InvertEndMessage>((r) => (resolve = r));
    let steps = 0;
    let ended = false;
    let cancelled = false;
    const stepMs: number[] = [];
    const jobId = randomUUID();
    const finish = (end: DragEndMessage | InvertEndMessage) => {
      if (ended) return;
      ended = true;
      this.pending.delete(jobId);
      try {
        if (stepMs.length) onSteps?.(stepMs);
      } catch (err) {
        this.opts.log?.(`[jobs] recording step times failed: ${(err as Error).message}`);
      }
      resolve(end);
    };
    this.pending.set(jobId, {
      onReply: (reply) => {
        if (reply.type === 'start') {
          listener.onPosition?.(0);
          listener.onStart?.();
        } else if (reply.type === 'step' || reply.type === 'invert-step') {
          steps = reply.step.step + 1;
          stepMs.push(reply.step.elapsedMs);
          listener.onStep(reply.step);
        } else if (reply.type === 'end') finish(reply.end);
        else if (reply.type === 'failed') finish({ reason: 'error', steps, error: reply.error });
      },
      onFailed: (reason) =>
        finish(
          isStalledFailure(reason)
            ? { reason: 'interrupted', steps, error: { code: 'worker-lost', message: `the worker running this ${kind === 'drag' ? 'drag' : 'inversion'} stopped answering (${reason})` } }
            : { reason: 'error', steps, error: { code: 'job-failed', message: reason } },
        ),
    });
    this.submit(kind, jobId, modelPath, request).catch((err: JobError) => finish({ reason: 'error', steps: 0, error: { code: err.code ?? 'queue-unavailable', message: err.message } }));
    return {
      done,
      cancel: () => {
        if (cancelled || ended) return;
        cancelled = true;
        this.cancel(jobId, 'steps').then(
          (removed) => removed && finish({ reason: 'cancelled', steps: 0 }),
          (err) => this.opts.log?.(`[jobs] cancelling job ${jobId}: ${(err as Error).message}`),
        );
      },
    };
  }

  render(job: RenderJob, opts: RenderOptions = {}): Promise<RenderResult> {
    const caller = opts.caller ?? '';
    const max = this.opts.rendersWaiting ?? 32;
    const maxPerCaller = this.opts.rendersWaitingPerCaller ?? 8;
    if (this.rendersPending >= max || (this.rendersByCaller.get(caller) ?? 0) >= maxPerCaller) {
      return Promise.reject(new BusyError('the server is busy rendering; try again in 1 s', 1));
    }
    this.rendersPending++;
    this.rendersByCaller.set(caller, (this.rendersByCaller.get(caller) ?? 0) + 1);
    const jobId = randomUUID();
    return new Promise<RenderResult>((resolve, reject) => {
      this.pending.set(jobId, {
        onReply: (reply) => {
          if (reply.type === 'rendered') resolve(reply.result);
          else if (reply.type === 'failed') reject(new JobError(reply.error.code, reply.error.message));
        },
        onFailed: (reason) => reject(new JobError(isStalledFailure(reason) ? 'worker-lost' : 'job-failed', reason)),
      });
      this.submit('render', jobId, job.modelPath, job).catch(reject);
    }).finally(() => {
      this.pending.delete(jobId);
      this.rendersPending--;
      const n = (this.rendersByCaller.get(caller) ?? 1) - 1;
      if (n > 0) this.rendersByCaller.set(caller, n);
      else this.rendersByCaller.delete(caller);
    });
  }

  private async submit(kind: JobKind, jobId: string, modelPath: string, request: object): Promise<void> {
    if (this.closed) throw new JobError('pool-closed', 'the job queue is closed');
    const modelId = this.opts.modelIdOf(modelPath);
    if (!modelId) throw new JobError('model-unavailable', 'the model of this job is not offered by this server');
    await this.ready;
    const data: BullJobData = {
      kind, modelId, request: encodeWire(request).toString('base64'), reply: replyChannel(this.opts.redis.prefix, this.node, jobId),
    };
    // Finished jobs leave Redis at once (their results went out on the reply channel); failed ones stay an hour
    // for inspection (BullMQ's tools), bounded in number.
    await this.queues.get(JOB_QUEUE_OF[kind])!.add(kind, data, { jobId, removeOnComplete: true, removeOnFail: { age: 3600, count: 1000 } });
  }

  /** Tells the workers; a job still waiting is taken off the queue (true: it never started). */
  private async cancel(jobId: string, queue: JobQueueName): Promise<boolean> {
    const { prefix } = this.opts.redis;
    await this.commands.set(cancelledKey(prefix, jobId), '1', 'EX', CANCEL_MEMORY_SECONDS);
    await this.commands.publish(cancelChannel(prefix), jobId);
    // Refused (0) for a job a worker holds: that one stops within a step and replies with its end.
    return (await this.queues.get(queue)!.remove(jobId)) === 1;
  }

  /** The devices of the cluster's live worker processes, as both numbers: workers are shared, not this node's. */
  liveWorkers(): { live: number; size: number } {
    return { live: this.workerDevices, size: this.workerDevices };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.workerWatch);
    for (const job of [...this.pending.values()]) job.onFailed('the job queue closed');
    await Promise.allSettled([...this.events.map((e) => e.close()), ...[...this.queues.values()].map((q) => q.close())]);
    await Promise.allSettled([this.subscriber.quit(), this.commands.quit(), ...this.eventConnections.map((c) => c.quit())]);
  }
}
