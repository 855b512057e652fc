/**
 * Runs in a cluster, end to end: two web nodes (in-process servers on port 0) on one PostgreSQL database and one
 * redis-server, and two `npm run worker` processes. Clients on both nodes get a run's frames and end, runs
 * started on both nodes for one room take turns in start order, Stop on one node cancels a run the other is
 * running, and a worker killed with SIGKILL mid-run leaves the run ended 'interrupted' with its steps recorded
 * while the next run completes on the other worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { RoomState, RunEnded, RunFrame, RunQueueState } from '../../contract/events.js';
import type { StudioServer } from '../../server/studio-server.js';
import { clusterRunParts } from '../../server/runs/cluster-runs.js';
import { redisConnector } from '../../server/cluster/redis-connections.js';
import { startPostgresCluster, type PostgresCluster } from '../../prisma/postgres-cluster.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, TINY_MODEL, TINY_MODEL_ID, user, waitFor, type ClientSocket } from '../server/helpers.js';
import { copyFileSync } from 'node:fs';
import { startRedis, type RedisFixture } from './redis-server.js';
import { startWorker, workerModelsDir, type WorkerProcess } from './worker-process.js';

const PREFIX = 'cluster-runs';

interface Watch {
  socket: ClientSocket;
  /** Frames and ends in arrival order. */
  events: ({ frame: RunFrame } | { ended: RunEnded })[];
  frames: RunFrame[];
  ended: RunEnded[];
  queue: RunQueueState[];
  images: number;
}

describe('runs across two web nodes and two workers', () => {
  let redis: RedisFixture;
  let pg: PostgresCluster;
  let models: ReturnType<typeof workerModelsDir>;
  let dirs: ReturnType<typeof tempDir>[] = [];
  let workers: WorkerProcess[] = [];
  let a: StudioServer;
  let b: StudioServer;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgresCluster()]);
    models = workerModelsDir();
    const env = { REDIS_URL: redis.url, STABLEDRAG_MODELS: models.dir, STABLEDRAG_REDIS_PREFIX: PREFIX };
    workers = await Promise.all([startWorker(env), startWorker(env)]);
    const database = { provider: 'postgresql' as const, url: await pg.createDatabase('cluster_runs') };
    const node = async () => {
      const tmp = tempDir();
      dirs.push(tmp);
      // 'webonly' is a model the web nodes offer and no worker has.
      copyFileSync(TINY_MODEL, `${tmp.dir}/webonly.safetensors`);
      const models = [{ id: TINY_MODEL_ID, path: TINY_MODEL }, { id: 'webonly', path: `${tmp.dir}/webonly.safetensors` }];
      return startTestServer(`${tmp.dir}/studio.db`, { database, models, ...clusterRunParts(redisConnector({ url: redis.url, prefix: PREFIX, nodeId: 'test' }), { nodeTimeoutMs: 5000 }) });
    };
    // One after the other: the first migrates the shared database.
    a = await node();
    b = await node();
  }, 180_000);

  afterAll(async () => {
    for (const c of cleanups.splice(0)) c();
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled(workers.map((w) => w.stop()));
    pg?.stop();
    await redis?.stop();
    models?.cleanup();
    for (const d of dirs) d.cleanup();
  }, 60_000);

  async function join(server: StudioServer, token: string, name: string): Promise<Watch & { state: RoomState }> {
    const socket = await connectSocket(server.url);
    cleanups.push(() => socket.disconnect());
    const w: Watch = { socket, events: [], frames: [], ended: [], queue: [], images: 0 };
    socket.on('run:frame', (frame, ack) => {
      w.frames.push(frame);
      w.events.push({ frame });
      ack();
    });
    socket.on('run:ended', (ended) => {
      w.ended.push(ended);
      w.events.push({ ended });
    });
    socket.on('run:queue', (q) => w.queue.push(q));
    socket.on('room:image', () => w.images++);
    const { state } = await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) });
    return Object.assign(w, { state });
  }

  /** A room made on node A with one handle/target pair, stored before either node starts a run. */
  async function roomWithPair(settings: Parameters<typeof updateSettings>[1]) {
    const room = await createRoom(a.url, 5);
    const y = await connectYjs(a.url, room.roomId, room.editToken);
    cleanups.push(y.destroy);
    addPoint(y.doc, [10, 10], user('ann'));
    addPoint(y.doc, [16, 14], user('ann'));
    updateSettings(y.doc, settings);
    // Node B reads the document from the database (the Yjs relay between nodes is not part of this test).
    await new Promise((r) => setTimeout(r, 800));
    return room;
  }

  it('streams a run started on node A to clients on both nodes, in order, and records it once', async () => {
    const room = await roomWithPair({ lr: 0.01, maxSteps: 6 });
    const ann = await join(a, room.editToken, 'ann');
    const bob = await join(b, room.viewToken, 'bob');
    const started = await call<{ runId: string; position: number }>(ann.socket, 'run:start');
    expect(started.position).toBe(0);
    await waitFor(() => ann.ended.length && bob.ended.length, 'the run to end at both clients', 60_000);
    for (const w of [ann, bob]) {
      expect(w.ended[0]).toMatchObject({ runId: started.runId });
      expect(['reached', 'max-steps']).toContain(w.ended[0].reason);
      // The final frame comes before the end, the steps in order.
      expect(w.events.at(-2)).toMatchObject({ frame: { final: true } });
      const steps = w.frames.map((f) => f.step);
      expect(steps).toEqual([...steps].sort((x, y) => x - y));
      expect(w.queue.some((q) => q.current?.runId === started.runId && q.current.state === 'running')).toBe(true);
    }
    expect(bob.frames.at(-1)).toEqual(ann.frames.at(-1));
    await waitFor(() => bob.images === 1 && ann.images === 1, 'the new image at both clients');
    const runs = await b.store.listRuns(room.roomId);
    expect(runs.map((r) => [r.id, r.status])).toEqual([[started.runId, 'ended']]);
    expect(runs[0].recorded).toBe(runs[0].steps + 1);
    // The worker's step times reach the model list of the node that ran it.
    const list = await call<{ models: { id: string; stepMs?: number }[] }>(ann.socket, 'models:list');
    expect(list.models.find((m) => m.id === TINY_MODEL_ID)?.stepMs).toBeGreaterThan(0);
  }, 90_000);

  it('refuses a room on a model no worker has, saying so', async () => {
    const s = await connectSocket(b.url);
    cleanups.push(() => s.disconnect());
    const res = await s.emitWithAck('room:create', { title: 'Nowhere', model: 'webonly', seed: 1 });
    expect(res).toMatchObject({ ok: false, error: { code: 'model-unavailable', message: expect.stringMatching(/model webonly is not available.*worker has no such model/) } });
  }, 60_000);

  it('runs started on both nodes for one room run one at a time, in start order', async () => {
    const room = await roomWithPair({ lr: 0.001, maxSteps: 4 });
    const ann = await join(a, room.editToken, 'ann');
    const cat = await join(b, room.editToken, 'cat');
    const r1 = await call<{ runId: string; position: number }>(ann.socket, 'run:start');
    const r2 = await call<{ runId: string; position: number }>(cat.socket, 'run:start');
    const r3 = await call<{ runId: string; position: number }>(ann.socket, 'run:start');
    expect([r1.position, r2.position, r3.position]).toEqual([0, 1, 2]);
    for (const w of [ann, cat]) {
      await waitFor(() => w.ended.length === 3, 'three runs to end', 90_000);
      expect(w.ended.map((e) => e.runId)).toEqual([r1.runId, r2.runId, r3.runId]);
      // No frame of a run arrives before the previous run's end: they never overlapped.
      const order = w.events.map((e) => ('frame' in e ? e.frame.runId : e.ended.runId));
      const firstOf = (id: string) => order.indexOf(id);
      const lastOf = (id: string) => order.lastIndexOf(id);
      expect(lastOf(r1.runId)).toBeLessThan(firstOf(r2.runId));
      expect(lastOf(r2.runId)).toBeLessThan(firstOf(r3.runId));
    }
    const runs = await a.store.listRuns(room.roomId);
    expect(runs.map((r) => r.id)).toEqual([r1.runId, r2.runId, r3.runId]);
  }, 120_000);

  it('Stop on node B cancels the run node A is running', async () => {
    const room = await roomWithPair({ lr: 0.0001, maxSteps: 1000 });
    const ann = await join(a, room.editToken, 'ann');
    const cat = await join(b, room.editToken, 'cat');
    const started = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => cat.frames.length >= 2, 'frames at node B', 60_000);
    // Someone joining on node B mid-run sees the run and its newest frame at once.
    const late = await join(b, room.viewToken, 'dave');
    expect(late.state.liveFrame?.runId).toBe(started.runId);
    expect(late.state.runs.current).toMatchObject({ runId: started.runId, state: 'running' });
    const { cancelled } = await call<{ cancelled: number }>(cat.socket, 'run:stop');
    expect(cancelled).toBe(1);
    await waitFor(() => ann.ended.length && cat.ended.length, 'the run to end at both clients', 60_000);
    expect(ann.ended[0]).toMatchObject({ runId: started.runId, reason: 'cancelled' });
    expect(cat.ended[0]).toMatchObject({ runId: started.runId, reason: 'cancelled' });
    const [run] = await b.store.listRuns(room.roomId);
    expect(run).toMatchObject({ id: started.runId, status: 'ended', endReason: 'cancelled' });
  }, 90_000);

  it('a worker killed mid-run ends the run interrupted with its steps kept; the next run completes on the other worker', async () => {
    const room = await roomWithPair({ lr: 0.0001, maxSteps: 1000 });
    const ann = await join(a, room.editToken, 'ann');
    const bob = await join(b, room.viewToken, 'bob');
    const takenBefore = workers.map((w) => w.log.join('').split('drag job').length);
    const started = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => bob.frames.length >= 3, 'a few frames at node B', 60_000);
    const victim = workers.findIndex((w, i) => w.log.join('').split('drag job').length > takenBefore[i]);
    expect(victim).toBeGreaterThanOrEqual(0);
    workers[victim].proc.kill('SIGKILL');
    await workers[victim].exited;
    await waitFor(() => ann.ended.length && bob.ended.length, 'the run to end at both clients', 60_000);
    for (const w of [ann, bob]) expect(w.ended[0]).toMatchObject({ runId: started.runId, reason: 'interrupted', error: { code: 'worker-lost' } });
    const [run] = await a.store.listRuns(room.roomId);
    expect(run).toMatchObject({ id: started.runId, status: 'ended', endReason: 'interrupted' });
    expect(run.recorded).toBeGreaterThanOrEqual(3);
    expect(run.steps).toBe(ann.ended[0].steps);
    {
      // The next run in the room, on the worker left.
      const y = await connectYjs(a.url, room.roomId, room.editToken);
      cleanups.push(y.destroy);
      await waitFor(() => y.provider.synced, 'the document');
      updateSettings(y.doc, { lr: 0.01, maxSteps: 3 });
      await new Promise((r) => setTimeout(r, 300));
    }
    const next = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => ann.ended.length === 2, 'the next run to end', 60_000);
    expect(ann.ended[1]).toMatchObject({ runId: next.runId, reason: 'max-steps', steps: 3 });
    workers.splice(victim, 1);
  }, 120_000);
});
