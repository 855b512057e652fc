/**
 * The studio server in a child process (tests/server/fixtures/serve.ts), for tests that kill it, start two,
 * or must see it crash. `env` reaches the child, e.g. STABLEDRAG_LIMIT_* overrides.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVE = resolve(import.meta.dirname, 'fixtures/serve.ts');

export interface Child {
  proc: ChildProcess;
  url: string;
  /** Its stderr so far (log lines and any crash report). */
  log: string[];
  exited: Promise<number | null>;
}

/** Children still running when this process exits (an interrupted fuzz run) are killed, not orphaned. */
const live = new Set<ChildProcess>();
process.once('exit', () => live.forEach((p) => p.kill('SIGKILL')));

/** Spawns a server on `dbFile` without waiting for it. */
export function spawnServer(dbFile: string, env: Record<string, string> = {}): Omit<Child, 'url'> {
  const proc = spawn(process.execPath, ['--import', 'tsx', SERVE, dbFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const log: string[] = [];
  proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const exited = new Promise<number | null>((ok) => proc.once('exit', (code) => ok(code)));
  return { proc, log, exited };
}

/** Spawns a server on `dbFile` and resolves once it listens (rejects if it exits first). */
export async function startChild(dbFile: string, env: Record<string, string> = {}): Promise<Child> {
  const { proc, log, exited } = spawnServer(dbFile, env);
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

export function isRunning(child: Pick<Child, 'proc'>): boolean {
  return child.proc.exitCode === null && child.proc.signalCode === null;
}

/** SIGTERM (the server stores its documents and exits), SIGKILL if it is not gone in `graceMs`; the exit code, null when killed. */
export async function stopChild(child: Omit<Child, 'url'>, graceMs = 20_000): Promise<number | null> {
  if (isRunning(child)) {
    child.proc.kill('SIGTERM');
    await Promise.race([child.exited, new Promise((r) => setTimeout(r, graceMs))]);
    if (isRunning(child)) child.proc.kill('SIGKILL');
  }
  return child.exited;
}
