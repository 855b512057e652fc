/**
 * Settings of `npm run worker`, from the environment:
 *   REDIS_URL (required: the cluster's Redis), STABLEDRAG_REDIS_PREFIX and STABLEDRAG_NODE_ID (read as a web
 *   node reads them: server/cluster/cluster-config.ts), STABLEDRAG_MODELS (this machine's models directory,
 *   default ./models; jobs name models by id), STABLEDRAG_POOL_SIZE (1: devices, i.e. drags run at once),
 *   STABLEDRAG_BACKEND / STABLEDRAG_WORKER_BACKENDS (as for `npm start`), STABLEDRAG_WORKER_LOCK_MS (30000: how
 *   long a job's lock lives without renewal, so how soon a killed worker's drag ends as interrupted),
 *   STABLEDRAG_WORKER_PORT (unset: no HTTP; else the port of /api/health/live and /api/health/ready, on HOST),
 *   STABLEDRAG_WORKER_DRAIN_SECONDS (60, at most 3600: on SIGTERM, how long a running drag may go on before it
 *   is stopped as by Stop, its steps kept).
 */
import { parseRedisUrl } from '../cluster/redis-url.js';
import { readRedisIdentity } from '../cluster/cluster-config.js';
import { parseModelsDir, readConfig } from '../config.js';
import type { BackendName } from '../../engine/src/backends/names.js';

export interface WorkerConfig {
  redisUrl: string;
  prefix: string;
  nodeId: string;
  modelsDir: string;
  devices: number;
  backend?: 'wasm' | 'cpu';
  workerBackends?: BackendName[];
  lockMs: number;
  workerSilenceSeconds: number;
  /** The health endpoints' port and address; no endpoints without a port. */
  healthPort?: number;
  host: string;
  drainMs: number;
}

/** Shortest lock: renewal runs every half of it, and a loaded machine's event loop must keep up. */
const MIN_LOCK_MS = 2000;

export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const redisUrl = parseRedisUrl(env.REDIS_URL);
  if (!redisUrl) throw new Error('REDIS_URL is not set: a worker takes its jobs from the cluster\'s Redis (redis://HOST:PORT)');
  const { prefix, nodeId } = readRedisIdentity(env);
  const lockMs = Number(env.STABLEDRAG_WORKER_LOCK_MS ?? 30_000);
  if (!Number.isInteger(lockMs) || lockMs < MIN_LOCK_MS) throw new Error(`STABLEDRAG_WORKER_LOCK_MS: expected a whole number of milliseconds >= ${MIN_LOCK_MS}`);
  const port = env.STABLEDRAG_WORKER_PORT?.trim();
  if (port && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) throw new Error(`STABLEDRAG_WORKER_PORT: '${port.slice(0, 40)}' is not a port number (0-65535)`);
  const drain = env.STABLEDRAG_WORKER_DRAIN_SECONDS?.trim() || '60';
  if (!/^\d+(\.\d+)?$/.test(drain) || Number(drain) > 3600) throw new Error(`STABLEDRAG_WORKER_DRAIN_SECONDS: '${drain.slice(0, 40)}' must be a number of seconds from 0 to 3600`);
  const start = readConfig(env);
  return {
    redisUrl, prefix, nodeId, lockMs,
    modelsDir: parseModelsDir(env.STABLEDRAG_MODELS),
    devices: start.poolSize,
    backend: start.backend,
    workerBackends: start.workerBackends,
    workerSilenceSeconds: start.limits.workerSilenceSeconds,
    healthPort: port ? Number(port) : undefined,
    host: start.host,
    drainMs: Number(drain) * 1000,
  };
}
