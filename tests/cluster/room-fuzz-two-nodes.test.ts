/**
 * The seeded room fuzz across two web nodes (real Redis, real PostgreSQL): random peers, each a real
 * y-websocket client, join node A or node B, leave, drop their connection and come back on either node
 * (editing offline meanwhile), and edit points, mask and settings. At the end every replica, both nodes'
 * documents and the document stored in PostgreSQL must agree. Runs are among the actions: a participant on
 * either node starts one or presses Stop, and the drags run on two `npm run worker` processes through the
 * cluster's run parts (as `npm start` wires them). At the end every run has ended in the store, each of the two
 * participants heard each run's end at most once and both heard the same ends, and the documents (whose handles
 * the runs moved) still agree.
 *
 * A failing seed is printed: add it to REGRESSION_SEEDS. FUZZ_SEEDS=n runs n more random seeds locally.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMaskStroke, addPoint, clearMask, clearPoints, movePoint, readPoints, undoLastPoint, updateSettings } from '../../contract/room-doc.js';
import { YJS_PATH } from '../../contract/events.js';
import { mulberry32 } from '../../training/faces/prng.js';
import { connectSocket, connectYjs, createRoom, user, waitFor, type ClientSocket, type YClient } from '../server/helpers.js';
import { docState, storedDocState } from '../server/room-agreement.js';
import { startClusterHarness, type ClusterHarness, type InProcessNode } from './cluster-harness.js';
import { clusterRunParts } from '../../server/runs/cluster-runs.js';
import { redisConnector } from '../../server/cluster/redis-connections.js';
import { startWorker, workerModelsDir, type WorkerProcess } from './worker-process.js';

const REGRESSION_SEEDS: number[] = [];
const SEEDS = [11, 12, ...REGRESSION_SEEDS, ...Array.from({ length: Number(process.env.FUZZ_SEEDS ?? 0) }, () => Math.floor(Math.random() * 1e9))];
const OPS = 120;
const RES = 32;

interface Peer {
  name: string;
  user: { id: string; name: string; color: string };
  y: YClient;
  node: InProcessNode;
}

describe('room fuzz across two web nodes', () => {
  let h: ClusterHarness;
  let nodes: InProcessNode[];
  let workers: WorkerProcess[] = [];
  let models: ReturnType<typeof workerModelsDir>;
  beforeAll(async () => {
    h = await startClusterHarness();
    models = workerModelsDir();
    const env = { REDIS_URL: h.redis.url, STABLEDRAG_MODELS: models.dir, STABLEDRAG_REDIS_PREFIX: h.prefix };
    workers = await Promise.all([startWorker(env), startWorker(env)]);
    const runParts = (nodeId: string) => clusterRunParts(redisConnector({ url: h.redis.url, prefix: h.prefix, nodeId, log: () => {} }), { log: () => {} });
    nodes = [await h.startNode('a', runParts('a')), await h.startNode('b', runParts('b'))];
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
    await Promise.allSettled(workers.map((w) => w.stop()));
    models?.cleanup();
  }, 60_000);

  for (const seed of SEEDS) {
    it(`replicas, both nodes and the database agree (seed ${seed})`, async () => {
      const rnd = mulberry32(seed);
      const int = (n: number) => Math.floor(rnd() * n);
      const pick = <T,>(a: T[]) => a[int(a.length)];
      const room = await createRoom(nodes[0].url);
      const peers: Peer[] = [];
      const log: string[] = [];
      const wsUrl = (node: InProcessNode) => node.url.replace(/^http/, 'ws') + YJS_PATH;
      // One participant per node starts and stops runs; each records the ends it hears.
      const runners: { socket: ClientSocket; ended: string[] }[] = [];
      for (const [i, node] of nodes.entries()) {
        const socket = await connectSocket(node.url);
        const runner = { socket, ended: [] as string[] };
        socket.on('run:ended', (e) => runner.ended.push(e.runId));
        socket.on('run:frame', (_f, ack) => ack());
        const joined = await socket.emitWithAck('room:join', { token: room.editToken, user: user(`runner${i}`) } as never);
        expect(joined.ok).toBe(true);
        runners.push(runner);
      }
      const runIds: string[] = [];

      const join = async () => {
        const name = `p${peers.length}`;
        const node = pick(nodes);
        const y = await connectYjs(node.url, room.roomId, room.editToken);
        peers.push({ name, user: { id: name, name, color: '#123456' }, y, node });
        log.push(`join ${name}@${node.server.port}`);
      };

      try {
        await join();
        await join();
        for (let k = 0; k < OPS; k++) {
          const r = rnd();
          const p = pick(peers);
          if (r < 0.05) {
            // Start (refused while the points are incomplete or the queue is full: a result, not an error) or Stop.
            const runner = pick(runners);
            if (rnd() < 0.7) {
              const res = (await runner.socket.emitWithAck('run:start')) as { ok: boolean; runId?: string };
              log.push(`start@${runners.indexOf(runner)} ${res.ok ? 'ok' : 'refused'}`);
              if (res.ok && res.runId) runIds.push(res.runId);
            } else {
              log.push(`stop@${runners.indexOf(runner)}`);
              await runner.socket.emitWithAck('run:stop');
            }
          } else if (r < 0.11 && peers.length < 6) await join();
          else if (r < 0.09 && peers.length > 2) {
            log.push(`leave ${p.name}`);
            p.y.destroy();
            peers.splice(peers.indexOf(p), 1);
          } else if (r < 0.25) {
            // Drop, or come back on either node; an offline peer keeps editing locally.
            if (p.y.provider.wsconnected || p.y.provider.shouldConnect) {
              log.push(`drop ${p.name}`);
              p.y.provider.disconnect();
            } else {
              p.node = pick(nodes);
              log.push(`back ${p.name}@${p.node.server.port}`);
              p.y.provider.serverUrl = wsUrl(p.node);
              p.y.provider.connect();
            }
          } else {
            const doc = p.y.doc;
            const q = rnd();
            log.push(`edit ${p.name} ${q.toFixed(2)}`);
            if (q < 0.35 && readPoints(doc).length < 30) addPoint(doc, [int(RES), int(RES)], p.user);
            else if (q < 0.5) {
              const pts = readPoints(doc);
              if (pts.length) movePoint(doc, pick(pts).id, rnd() < 0.5 ? 'handle' : 'target', [int(RES), int(RES)]);
            } else if (q < 0.57) undoLastPoint(doc);
            else if (q < 0.6) clearPoints(doc);
            else if (q < 0.78) addMaskStroke(doc, { mode: rnd() < 0.7 ? 'flexible' : 'fixed', radius: 1 + int(5), points: [int(RES), int(RES), int(RES), int(RES)] });
            else if (q < 0.81) clearMask(doc);
            else updateSettings(doc, { maxSteps: 1 + int(4), method: rnd() < 0.5 ? 'draggan' : 'stabledrag', lr: 0.001 + rnd() * 0.01 });
          }
          if (rnd() < 0.3) await new Promise((res) => setTimeout(res, int(20)));
        }

        for (const p of peers) if (!p.y.provider.shouldConnect) p.y.provider.connect();
        // Every run ends (the short ones reach their steps; Stop ends the rest), and each end is heard once.
        await runners[0].socket.emitWithAck('run:stop');
        await waitFor(() => nodes.every((n) => !n.server.runs.busy(room.roomId)), `seed ${seed}: the room's runs to end`, 60_000);
        // A run stopped while it waited leaves no record and no end; every run that got its turn has both.
        const recorded: string[] = [];
        for (const runId of runIds) {
          const run = await nodes[0].server.store.getRun(runId);
          if (!run) continue;
          expect(run.status, `seed ${seed}: run ${runId}`).toBe('ended');
          recorded.push(runId);
        }
        await waitFor(() => runners.every((rn) => recorded.every((id) => rn.ended.includes(id))), `seed ${seed}: both participants to hear every end`, 30_000);
        await waitFor(() => runners[0].ended.length === runners[1].ended.length, `seed ${seed}: both participants to hear the same ends`, 30_000);
        for (const rn of runners) expect(new Set(rn.ended).size, `seed ${seed}: an end heard twice`).toBe(rn.ended.length);
        expect([...runners[0].ended].sort()).toEqual([...runners[1].ended].sort());
        const held = await Promise.all(nodes.map((n) => n.server.docs.acquire(room.roomId)));
        try {
          await waitFor(
            () => {
              const states = new Set([...held.map(docState), ...peers.map((p) => docState(p.y.doc))]);
              return peers.every((p) => p.y.provider.synced) && states.size === 1;
            },
            `seed ${seed}: every replica and both nodes to agree (ops: ${log.slice(-20).join(', ')})`,
            30_000,
          );
          await Promise.all(nodes.map((n) => n.server.docs.flushAll()));
          expect(await storedDocState(nodes[0].server.store, room.roomId), `seed ${seed}: the stored document`).toBe(docState(held[0]));
        } finally {
          held.forEach((doc, i) => nodes[i].server.docs.release(doc));
        }
        console.log(`[fuzz] seed ${seed}: ${peers.length} peers at the end, ${log.filter((l) => l.startsWith('back')).length} reconnections, ${log.filter((l) => l.startsWith('edit')).length} edits, ${runIds.length} runs started, ${recorded.length} ran (${log.filter((l) => l.startsWith('stop')).length} stops)`);
      } catch (err) {
        console.error(`[fuzz] failing seed ${seed}: add it to REGRESSION_SEEDS in tests/cluster/room-fuzz-two-nodes.test.ts`);
        throw err;
      } finally {
        for (const p of peers) p.y.destroy();
        for (const rn of runners) rn.socket.disconnect();
      }
    }, 90_000);
  }
});
