/**
 * The seeded room fuzz across two web nodes (real Redis, real PostgreSQL): random peers, each a real
 * y-websocket client, join node A or node B, leave, drop their connection and come back on either node
 * (editing offline meanwhile), and edit points, mask and settings. At the end every replica, both nodes'
 * documents and the document stored in PostgreSQL must agree. Runs are left out: starting them across nodes
 * is the cluster run queue's part (tests/server/room-fuzz.test.ts covers them on one node).
 *
 * A failing seed is printed: add it to REGRESSION_SEEDS. FUZZ_SEEDS=n runs n more random seeds locally.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMaskStroke, addPoint, clearMask, clearPoints, movePoint, readPoints, undoLastPoint, updateSettings } from '../../contract/room-doc.js';
import { YJS_PATH } from '../../contract/events.js';
import { mulberry32 } from '../../training/faces/prng.js';
import { connectYjs, createRoom, waitFor, type YClient } from '../server/helpers.js';
import { docState, storedDocState } from '../server/room-agreement.js';
import { startClusterHarness, type ClusterHarness, type InProcessNode } from './cluster-harness.js';

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
  beforeAll(async () => {
    h = await startClusterHarness();
    nodes = [await h.startNode('a'), await h.startNode('b')];
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
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
          if (r < 0.06 && peers.length < 6) await join();
          else if (r < 0.09 && peers.length > 2) {
            log.push(`leave ${p.name}`);
            p.y.destroy();
            peers.splice(peers.indexOf(p), 1);
          } else if (r < 0.2) {
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
        console.log(`[fuzz] seed ${seed}: ${peers.length} peers at the end, ${log.filter((l) => l.startsWith('back')).length} reconnections, ${log.filter((l) => l.startsWith('edit')).length} edits`);
      } catch (err) {
        console.error(`[fuzz] failing seed ${seed}: add it to REGRESSION_SEEDS in tests/cluster/room-fuzz-two-nodes.test.ts`);
        throw err;
      } finally {
        for (const p of peers) p.y.destroy();
      }
    }, 90_000);
  }
});
