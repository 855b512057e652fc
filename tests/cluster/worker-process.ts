/**
 * `npm run worker` as a real child process for cluster tests: its own models directory (the tiny test model as
 * id 'tiny'), ready once it logs so, killable with any signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TINY_MODEL, TINY_MODEL_ID } from '../server/helpers.js';

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
