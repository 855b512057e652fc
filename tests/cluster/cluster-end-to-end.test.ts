/**
 * The whole cluster as deployed: two web nodes wired as `npm start` wires them with REDIS_URL (child
 * processes: tests/cluster/fixtures/cluster-node.ts with the run parts of server/index.ts), two `npm run worker`
 * processes, a real Redis and PostgreSQL. Clients on both nodes see the same points and the frames of a run
 * started on node A, each frame exactly once (run events travel through the room relay, queue states are read
 * by each node for its own sockets: nothing comes twice through the Socket.IO adapter as well). Node A is then
 * killed with SIGKILL mid-run: its clients reconnect to node B and find the points they had acknowledged, every
 * step whose frame was delivered is in the history, and the run ends interrupted for everyone. With its workers
 * gone, a web node stays ready (it still serves rooms) and reports no live worker.
 * (A link rotation across nodes: socketio-across-nodes.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPoint, readPoints, updateSettings } from '../../contract/room-doc.js';
import type { RunEnded, RunFrame, RunQueueState } from '../../contract/events.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { call, connectSocket, connectYjs, createRoom, user, waitFor, type ClientSocket, type YClient } from '../server/helpers.js';
import { startClusterHarness, type ChildNode, type ClusterHarness } from './cluster-harness.js';
import { startWorker, workerModelsDir, type WorkerProcess } from './worker-process.js';

const NODE_ENV = { STABLEDRAG_TEST_WORKERS: '1', STABLEDRAG_TEST_NODE_TIMEOUT_MS: '4000' };

interface Client {
  socket: ClientSocket;
  frames: RunFrame[];
  ended: RunEnded[];
  queue: RunQueueState[];
}

function listen(socket: ClientSocket): Client {
  const c: Client = { socket, frames: [], ended: [], queue: [] };
  socket.on('run:frame', (f, ack) => {
    c.frames.push(f);
    ack();
  });
  socket.on('run:ended', (e) => c.ended.push(e));
  socket.on('run:queue', (q) => c.queue.push(q));
  return c;
}

/**
 * Steps in the order they arrived: strictly increasing means none came twice (or out of order). The run's
 * final frame repeats its last step's state marked `final` (drag-run.ts), so it may equal the step before it;
 * it comes once, last.
 */
function expectEachFrameOnce(frames: RunFrame[]): void {
  expect(frames.length).toBeGreaterThan(0);
  const finals = frames.filter((f) => f.final);
  expect(finals.length).toBeLessThanOrEqual(1);
  if (finals.length) expect(frames.at(-1)!.final).toBe(true);
  const steps = frames.filter((f) => !f.final).map((f) => f.step);
  for (let i = 1; i < steps.length; i++) expect(steps[i], `step ${steps[i]} after ${steps[i - 1]}`).toBeGreaterThan(steps[i - 1]);
  if (finals.length && steps.length) expect(finals[0].step).toBeGreaterThanOrEqual(steps.at(-1)!);
}

describe('a cluster of two web nodes and two workers', () => {
  let h: ClusterHarness;
  let a: ChildNode;
  let b: ChildNode;
  let workers: WorkerProcess[] = [];
  let models: ReturnType<typeof workerModelsDir>;
  let store: PrismaRoomStore;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    h = await startClusterHarness();
    models = workerModelsDir();
    const env = { REDIS_URL: h.redis.url, STABLEDRAG_MODELS: models.dir, STABLEDRAG_REDIS_PREFIX: h.prefix };
    [a, b, ...workers] = await Promise.all([
      h.startChildNode('a', NODE_ENV), h.startChildNode('b', NODE_ENV),
      startWorker({ ...env, STABLEDRAG_NODE_ID: 'worker-1' }), startWorker({ ...env, STABLEDRAG_NODE_ID: 'worker-2' }),
    ]);
    store = PrismaRoomStore.open(h.database);
  }, 240_000);

  afterAll(async () => {
    for (const c of cleanups.splice(0)) c();
    await Promise.allSettled(workers.map((w) => w.stop()));
    await store?.close();
    await h?.stop();
    models?.cleanup();
  }, 60_000);

  it('shares points and frames, and survives the death of the node running the drag', async () => {
    // Both nodes report the workers in their health details.
    const health = async (url: string) => (await (await fetch(`${url}/api/health`)).json()) as { ok: boolean; workers: string };
    let hb = await health(b.url);
    for (const t0 = Date.now(); !/^2 live/.test(hb.workers) && Date.now() - t0 < 20_000; hb = await health(b.url)) await new Promise((r) => setTimeout(r, 250));
    expect(hb).toMatchObject({ ok: true, workers: '2 live (cluster)' });

    const room = await createRoom(a.url, 5);
    const annDoc = await connectYjs(a.url, room.roomId, room.editToken);
    const bobDoc = await connectYjs(b.url, room.roomId, room.editToken);
    cleanups.push(annDoc.destroy, bobDoc.destroy);
    addPoint(annDoc.doc, [10, 10], user('ann'));
    addPoint(annDoc.doc, [16, 14], user('ann'));
    updateSettings(annDoc.doc, { lr: 0.0001, maxSteps: 1000 });
    // Acknowledged: node B's client has them, so they left node A through Redis.
    await waitFor(() => readPoints(bobDoc.doc).length === 1 && readPoints(bobDoc.doc)[0].target !== null, 'the points on node B', 30_000);
    const points = JSON.stringify(readPoints(annDoc.doc));
    expect(JSON.stringify(readPoints(bobDoc.doc))).toBe(points);

    const ann = listen(await connectSocket(a.url));
    await call(ann.socket, 'room:join', { token: room.editToken, user: user('ann') });
    const bob = listen(await connectSocket(b.url));
    cleanups.push(() => bob.socket.disconnect());
    await call(bob.socket, 'room:join', { token: room.editToken, user: user('bob') });

    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => ann.frames.length >= 4 && bob.frames.length >= 4, 'frames on both nodes', 90_000);
    // Queue states reach each socket once per change: the running state arrived, and no version twice.
    for (const c of [ann, bob]) {
      expect(c.queue.some((q) => q.current?.runId === runId && q.current.state === 'running')).toBe(true);
      const versions = c.queue.map((q) => q.version);
      expect(new Set(versions).size).toBe(versions.length);
    }
    a.proc.kill('SIGKILL');
    await a.exited;
    ann.socket.disconnect();
    annDoc.destroy();
    expectEachFrameOnce(ann.frames);
    expectEachFrameOnce(bob.frames);
    const delivered = Math.max(...ann.frames.map((f) => f.step), ...bob.frames.map((f) => f.step));

    // Ann comes back through node B: her points are there.
    const annAgain: YClient = await connectYjs(b.url, room.roomId, room.editToken);
    cleanups.push(annAgain.destroy);
    expect(JSON.stringify(readPoints(annAgain.doc).map((p) => p.id))).toBe(JSON.stringify(JSON.parse(points).map((p: { id: string }) => p.id)));
    const annBack = listen(await connectSocket(b.url));
    cleanups.push(() => annBack.socket.disconnect());
    await call(annBack.socket, 'room:join', { token: room.editToken, user: user('ann') });

    // The run ends interrupted, for the participants still here and in the store, with every delivered step.
    await waitFor(() => bob.ended.find((e) => e.runId === runId), 'the end of the run on node B', 60_000);
    expect(bob.ended.filter((e) => e.runId === runId)).toHaveLength(1);
    const run = await store.getRun(runId);
    expect(run).toMatchObject({ status: 'ended', endReason: 'interrupted', error: 'the web node running it stopped' });
    expect(bob.ended.find((e) => e.runId === runId)).toMatchObject({ reason: 'interrupted', steps: run!.steps, error: { code: 'node-lost' } });
    expect(run!.recorded).toBeGreaterThan(delivered);
    await waitFor(() => annBack.queue.at(-1)?.current === null || (annBack.queue.length === 0 && bob.queue.at(-1)?.current === null), 'the room free for ann', 30_000);

    // The room goes on: a short run from node B completes on a worker, its frames to both clients once each.
    updateSettings(annAgain.doc, { lr: 0.01, maxSteps: 3 });
    await new Promise((r) => setTimeout(r, 500));
    const framesBefore = annBack.frames.length;
    const next = await call<{ runId: string }>(annBack.socket, 'run:start');
    await waitFor(() => annBack.ended.some((e) => e.runId === next.runId), 'the next run to end', 90_000);
    expect(annBack.ended.find((e) => e.runId === next.runId)).toMatchObject({ reason: 'max-steps', steps: 3 });
    expectEachFrameOnce(annBack.frames.slice(framesBefore));

    // Without workers the node still serves rooms: ready, reporting none live.
    await Promise.all(workers.map((w) => w.stop()));
    hb = await health(b.url);
    for (const t0 = Date.now(); !/^0 live/.test(hb.workers) && Date.now() - t0 < 20_000; hb = await health(b.url)) await new Promise((r) => setTimeout(r, 250));
    expect(hb).toMatchObject({ ok: true, workers: '0 live (cluster)' });
  }, 300_000);
});
