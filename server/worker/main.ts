/**
 * `npm run worker`: a worker process of a cluster. It takes drag and render jobs from BullMQ on the cluster's
 * Redis (bull-protocol.ts) and runs them on its own worker-thread pool, one drag per device at a time, with
 * models from this machine's models directory. With STABLEDRAG_WORKER_PORT it serves /api/health/live and
 * /api/health/ready. SIGINT/SIGTERM drains: readiness fails, the worker leaves the registry web nodes count,
 * takes no new jobs, lets the running ones end (stopping them, steps kept, after STABLEDRAG_WORKER_DRAIN_SECONDS),
 * then exits.
 */
import type { Server } from 'node:http';
import { readWorkerConfig, type WorkerConfig } from './worker-config.js';
import { WorkerPool } from '../jobs/worker-pool.js';
import { ModelRegistry } from '../rooms/model-registry.js';
import { redisConnector } from '../cluster/redis-connections.js';
import { describeRedisUrl } from '../cluster/redis-url.js';
import { startJobWorkers } from './job-workers.js';
import { serveWorkerHealth } from './worker-health.js';

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
const redis = redisConnector({ url: config.redisUrl, prefix: config.prefix, nodeId: config.nodeId, log });
const workers = await startJobWorkers({ redis, pool, models, concurrency: config.devices, lockMs: config.lockMs, log });
let stopping = false;
let health: Server | undefined;
if (config.healthPort !== undefined) {
  try {
    health = await serveWorkerHealth(config.healthPort, config.host, { redis: () => workers.ping(), threads: () => pool.liveWorkers(), draining: () => stopping });
  } catch (err) {
    console.error(`[worker] cannot start: STABLEDRAG_WORKER_PORT ${config.healthPort}: ${(err as Error).message}`);
    process.exit(1);
  }
}
const address = health?.address();
const healthPort = address && typeof address === 'object' ? `, health on port ${address.port}` : '';
log(`[worker] ready: ${config.nodeId}, ${config.devices} device(s), models ${models.all().map((m) => m.id).join(', ') || 'none'}, jobs from ${describeRedisUrl(config.redisUrl)} (prefix ${config.prefix}, pid ${process.pid}${healthPort})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`[worker] ${signal}: draining (not ready, no new jobs), finishing running jobs...`);
    workers
      .close({ stopAfterMs: config.drainMs })
      .then(() => pool.close())
      .then(() => new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve())))
      .then(
        () => process.exit(0),
        (err) => {
          console.error(err);
          process.exit(1);
        },
      );
  });
}
