/** The studio server in a child process (tests/server/fixtures/serve.ts), for tests that kill it or start two. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVE = resolve(import.meta.dirname, 'fixtures/serve.ts');

export interface Child {
  proc: ChildProcess;
  url: string;
  /** Its stderr so far. */
  log: string[];
  exited: Promise<number | null>;
}

/** Spawns a server on `dbFile` without waiting for it. */
export function spawnServer(dbFile: string): Omit<Child, 'url'> {
  const proc = spawn(process.execPath, ['--import', 'tsx', SERVE, dbFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const exited = new Promise<number | null>((ok) => proc.once('exit', (code) => ok(code)));
  return { proc, log, exited };
}

/** Spawns a server on `dbFile` and resolves once it listens (rejects if it exits first). */
export async function startChild(dbFile: string): Promise<Child> {
  const { proc, log, exited } = spawnServer(dbFile);
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the server did not start:\n${log.join('')}`)), 120_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    });
    void exited.then((code) => fail(new Error(`the server exited (${code}) before listening:\n${log.join('')}`)));
  });
  return { proc, url: `http://127.0.0.1:${port}`, log, exited };
}

/** Stops a child that is still running: SIGTERM, then SIGKILL if it is not gone in 20 s. */
export async function stopChild(child: Omit<Child, 'url'>): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  await Promise.race([child.exited, new Promise((r) => setTimeout(r, 20_000))]);
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
}
