/**
 * Settings of `npm run worker`, from the environment:
 *   REDIS_URL (required: the cluster's Redis), STABLEDRAG_REDIS_PREFIX (stabledrag),
 *   STABLEDRAG_MODELS (this machine's models directory, default ./models; jobs name models by id),
 *   STABLEDRAG_POOL_SIZE (1: devices, i.e. drags run at once), STABLEDRAG_BACKEND / STABLEDRAG_WORKER_BACKENDS
 *   (as for `npm start`), STABLEDRAG_WORKER_LOCK_MS (30000: how long a job's lock lives without renewal, so how
 *   soon a killed worker's drag ends as interrupted).
 */
import { parseRedisUrl } from '../cluster/redis-url.js';
import { parseModelsDir, readConfig } from '../config.js';
import type { BackendName } from '../../engine/src/backends/names.js';

export interface WorkerConfig {
  redisUrl: string;
  prefix: string;
  modelsDir: string;
  devices: number;
  backend?: 'wasm' | 'cpu';
  workerBackends?: BackendName[];
  lockMs: number;
  workerSilenceSeconds: number;
}

/** Shortest lock: renewal runs every half of it, and a loaded machine's event loop must keep up. */
const MIN_LOCK_MS = 2000;

export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const redisUrl = parseRedisUrl(env.REDIS_URL);
  if (!redisUrl) throw new Error('REDIS_URL is not set: a worker takes its jobs from the cluster\'s Redis (redis://HOST:PORT)');
  const prefix = env.STABLEDRAG_REDIS_PREFIX?.trim() || 'stabledrag';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(prefix)) throw new Error(`STABLEDRAG_REDIS_PREFIX: '${prefix.slice(0, 80)}' is not 1-64 letters, digits, '.', '_' or '-'`);
  const lockMs = Number(env.STABLEDRAG_WORKER_LOCK_MS ?? 30_000);
  if (!Number.isInteger(lockMs) || lockMs < MIN_LOCK_MS) throw new Error(`STABLEDRAG_WORKER_LOCK_MS: expected a whole number of milliseconds >= ${MIN_LOCK_MS}`);
  const start = readConfig(env);
  return {
    redisUrl, prefix, lockMs,
    modelsDir: parseModelsDir(env.STABLEDRAG_MODELS),
    devices: start.poolSize,
    backend: start.backend,
    workerBackends: start.workerBackends,
    workerSilenceSeconds: start.limits.workerSilenceSeconds,
  };
}
