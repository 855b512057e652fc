/**
 * Yjs propagation across two web nodes: ROOMS rooms of CLIENTS y-websocket clients each, split between node A
 * and node B (child processes on a throwaway Redis and PostgreSQL, tests/cluster/cluster-harness.ts). In every
 * room one client (on A in even rooms, on B in odd ones) moves a point every INTERVAL ms for SECONDS seconds;
 * each other client records when the move arrives. Latencies are split by whether the receiver sits on the
 * sender's node (one hop through the server) or on the other node (through Redis as well). All clients run in
 * this process, so their own event loop's delay is part of every number.
 *
 *   npm run bench:yjs-cluster [-- ROOMS CLIENTS INTERVAL_MS SECONDS]     (default 40 5 100 10)
 */
import { addPoint, movePoint, readPoints } from '../contract/room-doc.js';
import { summarize } from '../bench/load/stats.js';
import { connectYjs, createRoom, type YClient } from '../tests/server/helpers.js';
import { startClusterHarness } from '../tests/cluster/cluster-harness.js';

const [ROOMS, CLIENTS, INTERVAL_MS, SECONDS] = [40, 5, 100, 10].map((d, i) => Number(process.argv[2 + i] ?? d));
const RES = 32;
const NODE_ENV = { STABLEDRAG_LIMIT_CONNECTIONS_PER_MINUTE: '100000', STABLEDRAG_LIMIT_ROOM_CREATE_BURST: '100000' };

const h = await startClusterHarness();
const sameNode: number[] = [];
const otherNode: number[] = [];
const clients: YClient[] = [];
try {
  const nodes = await Promise.all([h.startChildNode('a', NODE_ENV), h.startChildNode('b', NODE_ENV)]);
  const senders: { client: YClient; room: number }[] = [];
  const sentAt: Map<string, number>[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const room = await createRoom(nodes[0].url);
    sentAt.push(new Map());
    const senderNode = r % 2;
    for (let c = 0; c < CLIENTS; c++) {
      // The sender first, on its node; the others alternate between the nodes.
      const nodeIndex = c === 0 ? senderNode : c % 2;
      const client = await connectYjs(nodes[nodeIndex].url, room.roomId, room.editToken);
      clients.push(client);
      if (c === 0) {
        addPoint(client.doc, [0, 0], { id: 'bench', name: 'bench', color: '#000000' });
        addPoint(client.doc, [1, 1], { id: 'bench', name: 'bench', color: '#000000' });
        senders.push({ client, room: r });
        continue;
      }
      const into = nodeIndex === senderNode ? sameNode : otherNode;
      let last = '';
      client.doc.on('update', () => {
        const handle = readPoints(client.doc)[0]?.handle;
        const key = handle ? handle.join(',') : '';
        if (key === last) return;
        last = key;
        const t = sentAt[r].get(key);
        if (t !== undefined && measuring) into.push(performance.now() - t);
      });
    }
  }
  console.log(`${ROOMS} rooms x ${CLIENTS} clients on 2 nodes; a move every ${INTERVAL_MS} ms per room for ${SECONDS} s`);
  let measuring = true;
  let seq = 0;
  const timer = setInterval(() => {
    seq++;
    const at: [number, number] = [seq % RES, Math.floor(seq / RES) % RES];
    for (const { client, room } of senders) {
      sentAt[room].set(at.join(','), performance.now());
      const id = readPoints(client.doc)[0].id;
      movePoint(client.doc, id, 'handle', at);
    }
  }, INTERVAL_MS);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 1000));
  measuring = false;
  const row = (label: string, values: number[]) => {
    const s = summarize(values);
    return `| ${label} | ${s.n} | ${s.p50} | ${s.p99} | ${s.max} |`;
  };
  console.log('| receiver | moves received | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- |');
  console.log(row("on the sender's node", sameNode));
  console.log(row('on the other node (via Redis)', otherNode));
} finally {
  clients.forEach((c) => c.destroy());
  await h.stop();
}
