/**
 * `npm run worker`: a worker process of a cluster. It takes drag and render jobs from BullMQ on the cluster's
 * Redis (bull-protocol.ts) and runs them on its own worker-thread pool, one drag per device at a time, with
 * models from this machine's models directory. SIGINT/SIGTERM: takes no new jobs, lets the running ones end,
 * then exits.
 */
import { Worker } from 'bullmq';
import { readWorkerConfig, type WorkerConfig } from './worker-config.js';
import { WorkerPool } from '../jobs/worker-pool.js';
import { ModelRegistry } from '../rooms/model-registry.js';
import { redisConnector } from '../jobs/redis-connector.js';
import { bullPrefix, cancelChannel, JOB_QUEUE_NAMES, type BullJobData } from '../jobs/bull-protocol.js';
import { JobRunner } from './job-runner.js';
import { describeRedisUrl } from '../cluster/redis-url.js';

let config: WorkerConfig;
try {
  config = readWorkerConfig();
} catch (err) {
  console.error(`[worker] cannot start: ${(err as Error).message}`);
  process.exit(2);
}

const log = (line: string) => console.log(line);
const redis = redisConnector(config.redisUrl, config.prefix);
const pool = new WorkerPool({ size: config.devices, backend: config.backend, workerBackends: config.workerBackends, silenceMs: config.workerSilenceSeconds * 1000 });
const models = new ModelRegistry({ modelsDir: config.modelsDir }, { log });
const commands = redis.connect('worker');
const runner = new JobRunner({ pool, models, redis: commands, prefix: config.prefix, log });

const cancels = redis.connect('worker-cancels');
cancels.on('message', (_channel: string, jobId: string) => runner.cancel(jobId));
await cancels.subscribe(cancelChannel(config.prefix));

const workers = JOB_QUEUE_NAMES.map((name) => {
  const worker = new Worker<BullJobData>(name, (job) => runner.process(job), {
    connection: redis.connect(`worker-${name}`),
    prefix: bullPrefix(config.prefix),
    // One drag per device: the pool runs one per thread, and more would only wait inside the pool, where
    // BullMQ could not hand them to an idle worker elsewhere.
    concurrency: config.devices,
    lockDuration: config.lockMs,
    stalledInterval: config.lockMs,
    // A stalled drag has sent (and its web node recorded) steps: running it again from its start would
    // record them twice. It fails instead, and its web node ends the run as interrupted.
    maxStalledCount: 0,
  });
  worker.on('error', (err) => log(`[worker] ${name}: ${err.message}`));
  return worker;
});
await Promise.all(workers.map((w) => w.waitUntilReady()));
log(`[worker] ready: ${config.devices} device(s), models ${models.all().map((m) => m.id).join(', ') || 'none'}, jobs from ${describeRedisUrl(config.redisUrl)} (pid ${process.pid})`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`[worker] ${signal}: finishing running jobs...`);
    Promise.all(workers.map((w) => w.close()))
      .then(() => pool.close())
      .then(() => Promise.allSettled([cancels.quit(), commands.quit()]))
      .then(
        () => process.exit(0),
        (err) => {
          console.error(err);
          process.exit(1);
        },
      );
  });
}
