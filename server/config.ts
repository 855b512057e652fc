/**
 * Settings of `npm start`, from the environment, with defaults that need nothing else:
 *   PORT (3000), HOST (0.0.0.0), STABLEDRAG_DATA_DIR (./data, holds studio.db),
 *   STABLEDRAG_MODELS (the models directory, default ./models: each <id>/model.safetensors is a model),
 *   STABLEDRAG_POOL_SIZE (1), STABLEDRAG_BACKEND (engine default: wasm), NODE_ENV (production => built app),
 *   STABLEDRAG_LIMIT_* (server/limits.ts),
 *   STABLEDRAG_TRUSTED_PROXIES (addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed; default none),
 *   DATABASE_URL (postgres://... keeps the store in PostgreSQL; unset: SQLite, studio.db in the data directory),
 *   REDIS_URL (redis://... joins this process to a cluster of web nodes and workers; unset: one process).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLimits, type ServerLimits } from './limits.js';
import { parseTrustedProxies, type TrustedProxies } from './client-address.js';
import { BACKEND_NAMES, type BackendName } from '../engine/src/backends/names.js';
import { parseDatabaseUrl, type Database } from './db/database.js';
import { parseRedisUrl } from './cluster/redis-url.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundled model (same place as the engine's defaultModelPath(); the main thread must not import the engine). */
export const BUNDLED_MODEL = join(REPO_ROOT, 'models', 'faces128', 'model.safetensors');

export interface StartConfig {
  port: number;
  host: string;
  dataDir: string;
  dbFile: string;
  /** PostgreSQL from DATABASE_URL; undefined keeps SQLite in `dbFile`. */
  database?: Database;
  /** REDIS_URL: set, this process is one node of a cluster (docs/deploy.md); undefined runs everything here. */
  redisUrl?: string;
  /** The models directory (scanned at start and on request; server/rooms/model-registry.ts). */
  modelsDir: string;
  poolSize: number;
  backend?: 'wasm' | 'cpu';
  /** STABLEDRAG_WORKER_BACKENDS, e.g. "webgpu,wasm": one drag worker per entry, each on its backend. */
  workerBackends?: BackendName[];
  dev: boolean;
  limits: ServerLimits;
  trustedProxies: TrustedProxies;
}

/** STABLEDRAG_MODELS: one directory. The list form of earlier versions ("id=path,...") is refused, saying what to do. */
export function parseModelsDir(spec: string | undefined): string {
  if (spec === undefined || spec.trim() === '') return join(REPO_ROOT, 'models');
  if (spec.includes('=')) {
    throw new Error(
      `STABLEDRAG_MODELS is a directory now, not a list of id=path: put each model in <dir>/<id>/model.safetensors ` +
        `(\`stabledrag import FILE.pkl --out <dir>/<id>\` writes one) and set STABLEDRAG_MODELS=<dir> (got '${spec.slice(0, 200)}')`,
    );
  }
  const dir = resolve(spec.trim());
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new Error(`STABLEDRAG_MODELS: ${dir} is not a directory (it should hold <id>/model.safetensors for each model)`);
  return dir;
}

function parseWorkerBackends(spec: string | undefined): BackendName[] | undefined {
  if (!spec?.trim()) return undefined;
  return spec.split(',').map((part) => {
    const name = part.trim();
    if (!(BACKEND_NAMES as readonly string[]).includes(name)) throw new Error(`STABLEDRAG_WORKER_BACKENDS: unknown backend '${name}'; expected one of ${BACKEND_NAMES.join(', ')}`);
    return name as BackendName;
  });
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): StartConfig {
  const dataDir = resolve(env.STABLEDRAG_DATA_DIR ?? join(REPO_ROOT, 'data'));
  const backend = env.STABLEDRAG_BACKEND;
  return {
    port: Number(env.PORT ?? 3000),
    host: env.HOST ?? '0.0.0.0',
    dataDir,
    dbFile: join(dataDir, 'studio.db'),
    database: parseDatabaseUrl(env.DATABASE_URL),
    redisUrl: parseRedisUrl(env.REDIS_URL),
    modelsDir: parseModelsDir(env.STABLEDRAG_MODELS),
    poolSize: Math.max(1, Number(env.STABLEDRAG_POOL_SIZE ?? 1) || 1),
    backend: backend === 'wasm' || backend === 'cpu' ? backend : undefined,
    workerBackends: parseWorkerBackends(env.STABLEDRAG_WORKER_BACKENDS),
    dev: env.NODE_ENV === 'development',
    limits: readLimits(env),
    trustedProxies: parseTrustedProxies(env.STABLEDRAG_TRUSTED_PROXIES),
  };
}

export function hasProductionBuild(): boolean {
  return existsSync(join(REPO_ROOT, '.next', 'BUILD_ID'));
}
