/**
 * `npm start`: the whole studio on one port. Migrates the database, starts the worker pool, serves the
 * built Next.js app, Socket.IO and the Yjs endpoint. Stops cleanly on SIGINT/SIGTERM (runs are cancelled
 * and their results saved, documents stored).
 *
 * With REDIS_URL set the process is one web node of a cluster (docs/deploy.md): PostgreSQL is required,
 * Socket.IO and Yjs go through Redis, drags and renders run on `npm run worker` processes through BullMQ, the
 * run queue lives in Redis and run events reach the other nodes' sockets through it; SIGTERM drains the node (readiness fails, no new connections,
 * documents stored, clients closed so that they reconnect to another node).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { hasProductionBuild, readConfig, REPO_ROOT, type StartConfig } from './config.js';
import { DataDirLockedError, lockDataDir } from './db/data-dir-lock.js';
import { describeDatabase } from './db/database.js';
import { readClusterConfig, type ClusterConfig } from './cluster/cluster-config.js';
import type { ClusterParts } from './cluster/cluster-parts.js';
import { describeRedisUrl } from './cluster/redis-url.js';

process.env.NEXT_TELEMETRY_DISABLED ??= '1';
let config: StartConfig;
let clusterConfig: ClusterConfig | undefined;
try {
  config = readConfig();
  if (config.redisUrl) clusterConfig = readClusterConfig(config.redisUrl, config.database);
} catch (err) {
  // A setting that cannot work (STABLEDRAG_MODELS in its old list form, a models directory that is not one):
  // its message says what to change; a stack trace would only bury it.
  console.error(`[studio] cannot start: ${(err as Error).message}`);
  process.exit(2);
}

// Before the (slow) imports, build and Next start-up: a second server on the same data fails at once.
let dataDirLock;
try {
  dataDirLock = lockDataDir(config.dbFile);
} catch (err) {
  if (!(err instanceof DataDirLockedError)) throw err;
  console.error(`[studio] cannot start: ${err.message}`);
  process.exit(1);
}

if (!config.dev && !hasProductionBuild()) {
  // scripts/start.sh builds the app when needed; building here keeps a bare `npm start` working too.
  console.log('[studio] no production build found; running `next build` once...');
  const res = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/next/dist/bin/next'), 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

const { createNextApp } = await import('./next-app.js');
const { startStudioServer } = await import('./studio-server.js');
const { startCluster } = await import('./cluster/cluster-parts.js');
const { clusterRunParts } = await import('./runs/cluster-runs.js');
const nextApp = await createNextApp({ dir: REPO_ROOT, dev: config.dev, port: config.port });
let cluster: ClusterParts | undefined;
if (clusterConfig) {
  try {
    cluster = await startCluster(clusterConfig, { log: (line) => console.log(line) });
  } catch (err) {
    console.error(`[studio] cannot start: Redis at ${describeRedisUrl(clusterConfig.redisUrl)}: ${(err as Error).message}`);
    process.exit(1);
  }
}
const server = await startStudioServer({
  port: config.port,
  host: config.host,
  dbFile: config.dbFile,
  database: config.database,
  dataDirLock,
  modelsDir: config.modelsDir,
  poolSize: config.poolSize,
  backend: config.backend,
  workerBackends: config.workerBackends,
  next: nextApp,
  limits: config.limits,
  trustedProxies: config.trustedProxies,
  dev: config.dev,
  cluster,
  ...(cluster && clusterRunParts(cluster.redis.connector, { log: (line) => console.log(line), limits: config.limits })),
});
const mode = clusterConfig
  ? `cluster node ${clusterConfig.nodeId}, Redis ${describeRedisUrl(clusterConfig.redisUrl)} (prefix ${clusterConfig.prefix})`
  : 'single process';
const drags = cluster ? 'drags on `npm run worker` processes' : `${config.poolSize} drag worker(s)`;
console.log(`[studio] ready on http://localhost:${server.port} (${mode}; database ${describeDatabase(config.database ?? config.dbFile)}, ${drags})`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`[studio] ${signal}: ${cluster ? 'draining (not ready, no new connections), ' : ''}saving rooms and stopping...`);
    server.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
