/**
 * The BullMQ side of a worker process: one BullMQ Worker per job queue (bull-protocol.ts), each handing its
 * jobs to a JobRunner over the given JobQueue (the worker-thread pool in `npm run worker`), and the cancel
 * channel. Separate from main.ts so the load benchmark runs the same consumer over replayed jobs.
 */
import { Worker } from 'bullmq';
import type { JobQueue } from '../jobs/job-queue.js';
import type { ModelRegistry } from '../rooms/model-registry.js';
import type { RedisConnector } from '../cluster/redis-connections.js';
import { bullPrefix, cancelChannel, JOB_QUEUE_NAMES, type BullJobData } from '../jobs/bull-protocol.js';
import { JobRunner } from './job-runner.js';
import { registerWorker, workerMember } from '../jobs/bull-worker-registry.js';
import { randomBytes } from 'node:crypto';

export interface JobWorkersOptions {
  redis: RedisConnector;
  pool: JobQueue;
  models: ModelRegistry;
  /** Jobs of each queue run at once: the devices (drags the pool runs side by side). */
  concurrency: number;
  /** BullMQ lock duration, ms: a job whose lock is not renewed for this long (its process died) fails as stalled. */
  lockMs: number;
  log: (line: string) => void;
}

export interface JobWorkers {
  /** Rejects when Redis does not answer now (readiness). */
  ping(): Promise<void>;
  /**
   * Takes no new jobs, waits for the running ones to end, and disconnects. Drags still running after
   * `stopAfterMs` are stopped as a Stop would (their steps are sent and kept), so a drain ends in bounded time.
   */
  close(opts?: { stopAfterMs?: number }): Promise<void>;
}

export async function startJobWorkers(opts: JobWorkersOptions): Promise<JobWorkers> {
  const { redis, log } = opts;
  const commands = redis.connect('worker');
  const runner = new JobRunner({ pool: opts.pool, models: opts.models, redis: commands, prefix: redis.prefix, log });
  const cancels = redis.connect('worker-cancels');
  cancels.on('message', (_channel: string, jobId: string) => runner.cancel(jobId));
  await cancels.subscribe(cancelChannel(redis.prefix));
  // BullMQ leaves connections it was given open: close() quits them.
  const connections = [commands, cancels];
  const workers = JOB_QUEUE_NAMES.map((name) => {
    const connection = redis.connect(`worker-${name}`);
    connections.push(connection);
    const worker = new Worker<BullJobData>(name, (job) => runner.process(job), {
      connection,
      prefix: bullPrefix(redis.prefix),
      // One drag per device: more would only wait inside the pool, where BullMQ could not hand them to an
      // idle worker elsewhere.
      concurrency: opts.concurrency,
      lockDuration: opts.lockMs,
      stalledInterval: opts.lockMs,
      // A stalled drag has sent (and its web node recorded) steps: running it again from its start would
      // record them twice. It fails instead, and its web node ends the run as interrupted.
      maxStalledCount: 0,
    });
    worker.on('error', (err) => log(`[worker] ${name}: ${err.message}`));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  // This start of the worker, in the registry web nodes count for /api/health, once it can take jobs.
  const registration = registerWorker(commands, redis.prefix, workerMember(`${redis.nodeId}.${randomBytes(4).toString('hex')}`, opts.concurrency));
  return {
    async ping() {
      // The offline queue would hold a PING until Redis is back; readiness wants an answer now.
      if (commands.status !== 'ready') throw new Error(`not connected (${commands.status})`);
      await commands.ping();
    },
    async close({ stopAfterMs } = {}) {
      // Out of the registry first: web nodes stop counting a worker that takes no new jobs.
      await registration.stop();
      const stopper = stopAfterMs === undefined ? undefined : setTimeout(() => {
        log(`[worker] drain: stopping the drags still running after ${Math.round(stopAfterMs / 1000)} s`);
        runner.cancelAll();
      }, stopAfterMs);
      try {
        await Promise.all(workers.map((w) => w.close()));
      } finally {
        clearTimeout(stopper);
      }
      await Promise.allSettled(connections.map((c) => c.quit()));
    },
  };
}
