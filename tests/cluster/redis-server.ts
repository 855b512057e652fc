/**
 * A throwaway redis-server for tests and benchmarks: Debian's `redis-server` binary on 127.0.0.1 at a free
 * port, no persistence, in a temp folder removed by stop(). kill() ends it with SIGKILL (for tests of a Redis
 * that vanishes); restart() brings a server back on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../prisma/postgres-cluster.js';

export interface RedisFixture {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** SIGKILL, as a crashed Redis. */
  kill(): Promise<void>;
  /** Starts a fresh server on the same port (after kill or stop). */
  restart(): Promise<void>;
}

const BINARY = process.env.STABLEDRAG_REDIS_SERVER ?? '/usr/bin/redis-server';

/** Resolves once the server answers PING on the port. */
async function waitForPong(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before answering`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ port, host: '127.0.0.1' });
      sock.once('error', () => resolve(false));
      sock.once('connect', () => sock.write('PING\r\n'));
      sock.once('data', (data) => {
        sock.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedis(): Promise<RedisFixture> {
  if (!existsSync(BINARY)) {
    throw new Error(`redis-server is not installed (${BINARY}): apt-get install -y redis-server, or set STABLEDRAG_REDIS_SERVER`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'stabledrag-redis-'));
  let port = 0;
  let child: ChildProcess | null = null;

  const launch = async (fixedPort?: number) => {
    for (let attempt = 1; ; attempt++) {
      port = fixedPort ?? (await freePort());
      // No RDB/AOF: the data is thrown away with the folder. The port is bound on loopback only.
      const proc = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
        await waitForPong(port, proc);
        child = proc;
        return;
      } catch (err) {
        proc.kill('SIGKILL');
        // Another process took the port between the probe and the start: try another one.
        if (fixedPort !== undefined || attempt >= 3) throw err;
      }
    }
  };
  await launch();

  const kill = async () => {
    const c = child;
    child = null;
    if (!c) return;
    c.kill('SIGKILL');
    await exited(c);
  };
  const stop = async () => {
    await kill();
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };
  // A test run that dies without its afterAll still takes the server down.
  const onExit = () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    stop,
    kill,
    async restart() {
      await kill();
      await launch(port);
    },
  };
}
