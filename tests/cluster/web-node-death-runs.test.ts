/**
 * A web node killed (SIGKILL) while it runs a drag: a surviving node ends the run 'interrupted' in the store
 * (its recorded steps stay), the room's queue empties on every node, and the room's next run, started on the
 * surviving node, completes. The killed node is a child process; the survivor runs in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { RunEnded, RunFrame, RunQueueState } from '../../contract/events.js';
import type { StudioServer } from '../../server/studio-server.js';
import { clusterRunParts } from '../../server/runs/cluster-runs.js';
import { redisConnector } from '../../server/cluster/redis-connections.js';
import { startPostgresCluster, type PostgresCluster } from '../../prisma/postgres-cluster.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, user, waitFor } from '../server/helpers.js';
import { startRedis, type RedisFixture } from './redis-server.js';
import { startWorker, workerModelsDir, type WorkerProcess } from './worker-process.js';

const PREFIX = 'node-death';
const NODE_TIMEOUT_MS = '4000';
const ROOT = resolve(import.meta.dirname, '../..');

describe('a web node killed mid-run', () => {
  let redis: RedisFixture;
  let pg: PostgresCluster;
  let models: ReturnType<typeof workerModelsDir>;
  const dirs = [tempDir(), tempDir()];
  let workers: WorkerProcess[] = [];
  let survivor: StudioServer;
  let doomed: { proc: ChildProcess; url: string; exited: Promise<unknown> };
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgresCluster()]);
    models = workerModelsDir();
    const env = { REDIS_URL: redis.url, STABLEDRAG_MODELS: models.dir, STABLEDRAG_REDIS_PREFIX: PREFIX };
    // Two workers: the dead node's job runs on to its end on one of them, nobody listening.
    workers = await Promise.all([startWorker(env), startWorker(env)]);
    const databaseUrl = await pg.createDatabase('node_death');
    survivor = await startTestServer(`${dirs[0].dir}/studio.db`, {
      database: { provider: 'postgresql', url: databaseUrl },
      ...clusterRunParts(redisConnector({ url: redis.url, prefix: PREFIX, nodeId: 'test' }), { nodeTimeoutMs: Number(NODE_TIMEOUT_MS) }),
    });
    const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/cluster/cluster-node.ts', dirs[1].dir], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, STABLEDRAG_REDIS_PREFIX: PREFIX, STABLEDRAG_TEST_NODE_TIMEOUT_MS: NODE_TIMEOUT_MS },
    });
    process.once('exit', () => proc.kill('SIGKILL'));
    const exited = new Promise((ok) => proc.once('exit', ok));
    const log: string[] = [];
    proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    const port = await new Promise<number>((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`the node did not start:\n${log.join('')}`)), 120_000);
      proc.stdout!.on('data', (d: Buffer) => {
        const m = /listening (\d+)/.exec((out += d.toString()));
        if (m) {
          clearTimeout(timer);
          ok(Number(m[1]));
        }
      });
      void exited.then(() => fail(new Error(`the node exited before listening:\n${log.join('')}`)));
    });
    doomed = { proc, url: `http://127.0.0.1:${port}`, exited };
  }, 180_000);

  afterAll(async () => {
    for (const c of cleanups.splice(0)) c();
    doomed?.proc.kill('SIGKILL');
    await survivor?.close();
    await Promise.allSettled(workers.map((w) => w.stop()));
    pg?.stop();
    await redis?.stop();
    models?.cleanup();
    for (const d of dirs) d.cleanup();
  }, 60_000);

  it('ends its run interrupted with its steps, frees the room and lets the next run complete', async () => {
    const room = await createRoom(survivor.url, 5);
    const y = await connectYjs(survivor.url, room.roomId, room.editToken);
    cleanups.push(y.destroy);
    addPoint(y.doc, [10, 10], user('ann'));
    addPoint(y.doc, [16, 14], user('ann'));
    updateSettings(y.doc, { lr: 0.0001, maxSteps: 1000 });
    await new Promise((r) => setTimeout(r, 800));

    const ann = await connectSocket(doomed.url);
    await call(ann, 'room:join', { token: room.editToken, user: user('ann') });
    const bob = await connectSocket(survivor.url);
    cleanups.push(() => bob.disconnect());
    const frames: RunFrame[] = [];
    const queue: RunQueueState[] = [];
    const ended: RunEnded[] = [];
    bob.on('run:frame', (f, ack) => {
      frames.push(f);
      ack();
    });
    bob.on('run:queue', (q) => queue.push(q));
    bob.on('run:ended', (e) => ended.push(e));
    await call(bob, 'room:join', { token: room.editToken, user: user('bob') });

    const { runId } = await call<{ runId: string }>(ann, 'run:start');
    await waitFor(() => frames.length >= 3, 'frames relayed to the surviving node', 60_000);
    doomed.proc.kill('SIGKILL');
    await doomed.exited;

    // Within the node timeout and a sweep of the survivor's.
    let run = await survivor.store.getRun(runId);
    for (const t0 = Date.now(); run?.status !== 'ended' && Date.now() - t0 < 30_000; run = await survivor.store.getRun(runId)) await new Promise((r) => setTimeout(r, 200));
    expect(run).toMatchObject({ status: 'ended', endReason: 'interrupted', error: 'the web node running it stopped' });
    expect(run!.recorded).toBeGreaterThanOrEqual(3);
    // Its participants on the surviving node hear that it ended.
    await waitFor(() => ended.some((e) => e.runId === runId), 'the end of the lost run', 30_000);
    expect(ended.find((e) => e.runId === runId)).toMatchObject({ reason: 'interrupted', steps: run!.steps, error: { code: 'node-lost' } });
    await waitFor(() => !survivor.runs.busy(room.roomId) && queue.at(-1)?.current === null, 'the room\'s queue to empty', 30_000);

    updateSettings(y.doc, { lr: 0.01, maxSteps: 3 });
    await new Promise((r) => setTimeout(r, 300));
    const next = await call<{ runId: string }>(bob, 'run:start');
    await waitFor(() => ended.some((e) => e.runId === next.runId), 'the next run to end', 60_000);
    expect(ended.find((e) => e.runId === next.runId)).toMatchObject({ reason: 'max-steps', steps: 3 });
  }, 120_000);
});
