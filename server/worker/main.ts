/**
 * `npm run worker`: a worker process of a cluster. It takes drag and render jobs from BullMQ on the cluster's
 * Redis (bull-protocol.ts) and runs them on its own worker-thread pool, one drag per device at a time, with
 * models from this machine's models directory. SIGINT/SIGTERM: takes no new jobs, lets the running ones end,
 * then exits.
 */
import { readWorkerConfig, type WorkerConfig } from './worker-config.js';
import { WorkerPool } from '../jobs/worker-pool.js';
import { ModelRegistry } from '../rooms/model-registry.js';
import { redisConnector } from '../jobs/redis-connector.js';
import { describeRedisUrl } from '../cluster/redis-url.js';
import { startJobWorkers } from './job-workers.js';

let config: WorkerConfig;
try {
  config = readWorkerConfig();
} catch (err) {
  console.error(`[worker] cannot start: ${(err as Error).message}`);
  process.exit(2);
}

const log = (line: string) => console.log(line);
const pool = new WorkerPool({ size: config.devices, backend: config.backend, workerBackends: config.workerBackends, silenceMs: config.workerSilenceSeconds * 1000 });
const models = new ModelRegistry({ modelsDir: config.modelsDir }, { log });
const workers = await startJobWorkers({ redis: redisConnector(config.redisUrl, config.prefix), pool, models, concurrency: config.devices, lockMs: config.lockMs, log });
log(`[worker] ready: ${config.devices} device(s), models ${models.all().map((m) => m.id).join(', ') || 'none'}, jobs from ${describeRedisUrl(config.redisUrl)} (pid ${process.pid})`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`[worker] ${signal}: finishing running jobs...`);
    workers
      .close()
      .then(() => pool.close())
      .then(
        () => process.exit(0),
        (err) => {
          console.error(err);
          process.exit(1);
        },
      );
  });
}
