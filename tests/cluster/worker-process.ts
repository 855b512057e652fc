/**
 * `npm run worker` as a real child process for cluster tests: its own models directory (the tiny test model as
 * id 'tiny'), ready once it logs so, killable with any signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TINY_MODEL, TINY_MODEL_ID } from '../server/helpers.js';
import { BullJobQueue } from '../../server/jobs/bull-job-queue.js';
import { redisConnector } from '../../server/cluster/redis-connections.js';
import { startRedis, type RedisFixture } from './redis-server.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface WorkerProcess {
  proc: ChildProcess;
  /** stdout and stderr so far. */
  log: string[];
  exited: Promise<number | null>;
  /** Whether it has logged taking this drag job. */
  took(jobText?: string): boolean;
  stop(): Promise<void>;
}

/** A models directory holding the tiny test model as `tiny` (or `ids` of it); removed by the returned cleanup. */
export function workerModelsDir(ids: string[] = [TINY_MODEL_ID]): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stabledrag-worker-models-'));
  for (const id of ids) {
    mkdirSync(join(dir, id));
    copyFileSync(TINY_MODEL, join(dir, id, 'model.safetensors'));
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const live = new Set<ChildProcess>();
process.once('exit', () => live.forEach((p) => p.kill('SIGKILL')));

export async function startWorker(env: { REDIS_URL: string; STABLEDRAG_MODELS: string } & Record<string, string>, timeoutMs = 60_000): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/worker/main.ts'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STABLEDRAG_WORKER_LOCK_MS: '5000', ...env },
  });
  live.add(proc);
  const log: string[] = [];
  const exited = new Promise<number | null>((ok) => proc.once('exit', (code) => {
    live.delete(proc);
    ok(code);
  }));
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the worker did not get ready in ${timeoutMs} ms:\n${log.join('')}`)), timeoutMs);
    const onData = (d: Buffer) => {
      log.push(d.toString());
      if (log.join('').includes('[worker] ready')) {
        clearTimeout(timer);
        ok();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`the worker exited with code ${code} before it was ready:\n${log.join('')}`));
    });
  });
  return {
    proc, log, exited,
    took: (jobText = 'drag job') => log.join('').includes(jobText),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One worker process on its own redis-server, and a web node's BullJobQueue in this process sending it jobs. */
export interface WorkerRig {
  redis: RedisFixture;
  worker: WorkerProcess;
  jobs: BullJobQueue;
  stop(): Promise<void>;
}

/** Starts a WorkerRig under the key prefix `prefix`; `env` adds to the worker's environment. */
export async function startWorkerRig(prefix: string, env: Record<string, string> = {}): Promise<WorkerRig> {
  const redis = await startRedis();
  const models = workerModelsDir();
  let worker: WorkerProcess;
  try {
    worker = await startWorker({ REDIS_URL: redis.url, STABLEDRAG_MODELS: models.dir, STABLEDRAG_REDIS_PREFIX: prefix, ...env });
  } catch (err) {
    await redis.stop();
    models.cleanup();
    throw err;
  }
  const jobs = new BullJobQueue({
    redis: redisConnector({ url: redis.url, prefix, nodeId: 'web' }),
    modelIdOf: (path) => (path === TINY_MODEL ? TINY_MODEL_ID : undefined),
    log: () => {},
  });
  return {
    redis,
    worker,
    jobs,
    async stop() {
      await jobs.close();
      await worker.stop();
      await redis.stop();
      models.cleanup();
    },
  };
}
