/**
 * A throwaway cluster for tests: a real redis-server, a real PostgreSQL database, and web nodes, either in
 * this process (startStudioServer on port 0, for tests that close nodes) or as child processes (for tests
 * that kill -9 or SIGTERM them). stop() takes everything down. Workers can be added alongside: `redis.url`
 * and `databaseUrl` are what they need.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startRedis, type RedisFixture } from './redis-server.js';
import { startPostgresCluster, type PostgresCluster } from '../../prisma/postgres-cluster.js';
import { startTestServer, tempDir } from '../server/helpers.js';
import { startCluster } from '../../server/cluster/cluster-parts.js';
import type { NodeLivenessOptions } from '../../server/cluster/node-liveness.js';
import type { StudioServer, StudioServerOptions } from '../../server/studio-server.js';
import type { Database } from '../../server/db/database.js';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE_ENTRY = resolve(import.meta.dirname, 'fixtures/cluster-node.ts');

export interface InProcessNode {
  nodeId: string;
  server: StudioServer;
  url: string;
}

export interface ChildNode {
  nodeId: string;
  proc: ChildProcess;
  url: string;
  /** Its stderr so far. */
  log: string[];
  exited: Promise<number | null>;
}

export interface ClusterHarness {
  redis: RedisFixture;
  databaseUrl: string;
  database: Database;
  /** The Redis key prefix every node of this harness uses. */
  prefix: string;
  startNode(nodeId: string, extra?: Partial<StudioServerOptions>, liveness?: NodeLivenessOptions): Promise<InProcessNode>;
  /** `env` reaches the child (e.g. STABLEDRAG_DRAIN_SECONDS). */
  startChildNode(nodeId: string, env?: Record<string, string>): Promise<ChildNode>;
  /** Closes the in-process nodes, SIGKILLs the children left, stops Redis and PostgreSQL. */
  stop(): Promise<void>;
}

let databases = 0;

export async function startClusterHarness(): Promise<ClusterHarness> {
  const tmp = tempDir();
  let redis: RedisFixture | undefined;
  let pg: PostgresCluster | undefined;
  try {
    redis = await startRedis();
    pg = await startPostgresCluster();
  } catch (err) {
    await redis?.stop();
    tmp.cleanup();
    throw err;
  }
  const databaseUrl = await pg.createDatabase(`cluster_${process.pid}_${++databases}`);
  const database: Database = { provider: 'postgresql', url: databaseUrl };
  const prefix = `test-${randomBytes(3).toString('hex')}`;
  const inProcess: InProcessNode[] = [];
  const children: ChildNode[] = [];
  const dataDir = (nodeId: string) => {
    const dir = `${tmp.dir}/${nodeId}-${randomBytes(2).toString('hex')}`;
    mkdirSync(dir);
    return dir;
  };

  return {
    redis,
    databaseUrl,
    database,
    prefix,
    async startNode(nodeId, extra = {}, liveness) {
      const cluster = await startCluster({ redisUrl: redis!.url, prefix, nodeId }, { liveness });
      try {
        const server = await startTestServer(`${dataDir(nodeId)}/studio.db`, { database, cluster, ...extra });
        const node = { nodeId, server, url: server.url };
        inProcess.push(node);
        return node;
      } catch (err) {
        await cluster.close();
        throw err;
      }
    },
    async startChildNode(nodeId, extraEnv = {}) {
      const env = { ...process.env, ...extraEnv, REDIS_URL: redis!.url, DATABASE_URL: databaseUrl, STABLEDRAG_REDIS_PREFIX: prefix, STABLEDRAG_NODE_ID: nodeId };
      const proc = spawn(process.execPath, ['--import', 'tsx', NODE_ENTRY, dataDir(nodeId)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
      const log: string[] = [];
      proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
      const exited = new Promise<number | null>((ok) => proc.once('exit', (code) => ok(code)));
      const node: ChildNode = { nodeId, proc, url: '', log, exited };
      children.push(node);
      const port = await new Promise<number>((ok, fail) => {
        let out = '';
        const timer = setTimeout(() => fail(new Error(`node ${nodeId} did not start:\n${log.join('')}`)), 120_000);
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening (\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            ok(Number(m[1]));
          }
        });
        void exited.then((code) => {
          clearTimeout(timer);
          fail(new Error(`node ${nodeId} exited (${code}) before listening:\n${log.join('')}`));
        });
      });
      node.url = `http://127.0.0.1:${port}`;
      return node;
    },
    async stop() {
      for (const node of inProcess.splice(0)) await node.server.close().catch(() => {});
      for (const child of children.splice(0)) {
        if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
        await child.exited;
      }
      await redis!.stop();
      pg!.stop();
      tmp.cleanup();
    },
  };
}
