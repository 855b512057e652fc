/**
 * A throwaway PostgreSQL server for tests and for prisma/make-migration.ts: initdb into a temp folder,
 * `postgres` on 127.0.0.1 at a free port with trust authentication, removed again by stop(). It uses the
 * binaries of Debian's `postgresql` package (/usr/lib/postgresql/<version>/bin, the newest found, or
 * STABLEDRAG_PG_BIN). initdb refuses to run as root, so under root (CI) the server runs as the `postgres`
 * user the Debian package creates, through runuser, in a folder handed to that user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:PORT/NAME */
  url(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

const PG_LIB = '/usr/lib/postgresql';

function findBinDir(): string {
  const fromEnv = process.env.STABLEDRAG_PG_BIN;
  if (fromEnv) return fromEnv;
  const versions = existsSync(PG_LIB) ? readdirSync(PG_LIB).filter((v) => existsSync(join(PG_LIB, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) {
    throw new Error(`PostgreSQL is not installed (no ${PG_LIB}/<version>/bin/initdb): apt-get install -y postgresql, or set STABLEDRAG_PG_BIN`);
  }
  return join(PG_LIB, newest, 'bin');
}

/** A TCP port free on loopback now (another process may still take it before the caller binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary as the user that owns the cluster. */
function runAs(user: string | null, bin: string, args: string[]): void {
  const [cmd, argv] = user ? ['runuser', ['-u', user, '--', bin, ...args]] : [bin, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'stabledrag-pg-'));
  const asRoot = userInfo().uid === 0;
  const user = asRoot ? 'postgres' : null;
  if (asRoot) {
    let ids: [number, number];
    try {
      ids = [Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))];
    } catch {
      rmSync(dir, { recursive: true, force: true });
      throw new Error("running as root, PostgreSQL needs an unprivileged user to run as, and there is no 'postgres' user (Debian's postgresql package creates it)");
    }
    chownSync(dir, ...ids);
  }
  const data = join(dir, 'data');
  try {
    runAs(user, join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      // fsync off: the data is thrown away with the folder, and a commit waiting for the disk only slows tests.
      // Small shared buffers: test files run in parallel, each with its own server.
      const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB`;
      runAs(user, join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
      break;
    } catch (err) {
      // Another process took the port between the probe and the start: try another one.
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    const [cmd, argv] = user ? ['runuser', ['-u', user, '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']] : [join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']];
    spawnSync(cmd, argv, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  // A test run that dies without its afterAll still takes the server down.
  process.on('exit', stop);
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name '${name}': use lower-case letters, digits and _`);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop,
  };
}
