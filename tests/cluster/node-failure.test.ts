/**
 * Web nodes that die or drain (real Redis, real PostgreSQL, nodes as child processes):
 * - kill -9 node A: its Yjs clients, pointed at node B, reconnect there and no edit that reached the cluster
 *   (or that the client still held) is lost; its Socket.IO clients reconnect to B with a fresh session (a node
 *   killed -9 stores none for recovery) and join the room again; the presence of a client that does not come back goes away on
 *   node B once A's heartbeats stop; a fresh node loads every edit from PostgreSQL;
 * - SIGTERM on a node drains it: readiness fails first (503, `draining`), its Yjs clients are closed with a
 *   code that tells them to reconnect (4503, not 44xx), its documents are stored, and it exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPoint, readPoints } from '../../contract/room-doc.js';
import { YJS_PATH } from '../../contract/events.js';
import { io as ioClient } from 'socket.io-client';
import { call, connectYjs, createRoom, user, waitFor, type ClientSocket, type YClient } from '../server/helpers.js';
import { docState } from '../server/room-agreement.js';
import { startClusterHarness, type ChildNode, type ClusterHarness } from './cluster-harness.js';

describe('web nodes that die or drain', () => {
  let h: ClusterHarness;
  const clients: YClient[] = [];
  const cleanups: (() => void)[] = [];
  const yjs = async (url: string, roomId: string, token: string) => {
    const c = await connectYjs(url, roomId, token);
    clients.push(c);
    return c;
  };
  const pointAt = (c: YClient, node: ChildNode) => void (c.provider.serverUrl = node.url.replace(/^http/, 'ws') + YJS_PATH);

  beforeAll(async () => {
    h = await startClusterHarness();
  }, 120_000);
  afterAll(async () => {
    cleanups.forEach((fn) => fn());
    clients.forEach((c) => c.destroy());
    await h?.stop();
  }, 60_000);

  it('kill -9 a node: its clients reconnect to the other and nothing acknowledged is lost', async () => {
    const [a, b] = await Promise.all([h.startChildNode('a'), h.startChildNode('b')]);
    const room = await createRoom(a.url);
    const ann = await yjs(a.url, room.roomId, room.editToken);
    const cat = await yjs(a.url, room.roomId, room.viewToken);
    const bob = await yjs(b.url, room.roomId, room.editToken);
    cat.provider.awareness.setLocalStateField('user', { name: 'cat' });
    const socket: ClientSocket = ioClient(a.url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 500 });
    cleanups.push(() => socket.disconnect());
    await new Promise<void>((ok) => socket.once('connect', () => ok()));
    await call(socket, 'room:join', { token: room.editToken, user: user('ann') });
    // Each two points make a handle/target pair.
    for (let i = 0; i < 6; i++) addPoint(ann.doc, [2 + i, 2], user('ann'));
    // Seen on node B: acknowledged by the cluster.
    await waitFor(() => readPoints(bob.doc).length === 3 && bob.provider.awareness.getStates().has(cat.doc.clientID), "ann's points and cat's presence on B");

    // Edits node A may or may not have relayed when it dies: the client keeps them until a server has them.
    for (let i = 0; i < 4; i++) addPoint(ann.doc, [2, 10 + i], user('ann'));
    a.proc.kill('SIGKILL');
    await a.exited;
    // cat closed the tab meanwhile; ann's app moves to the other node.
    cat.provider.shouldConnect = false;
    pointAt(ann, b);
    (socket.io as unknown as { uri: string }).uri = b.url;
    addPoint(bob.doc, [20, 20], user('bob'));
    addPoint(bob.doc, [22, 22], user('bob'));
    await waitFor(() => readPoints(ann.doc).length === 6 && readPoints(bob.doc).length === 6, 'ann and bob to agree on all six pairs', 30_000);
    expect(docState(ann.doc)).toBe(docState(bob.doc));
    await waitFor(() => socket.connected, "ann's socket to reconnect to B", 30_000);
    expect(socket.recovered).toBe(false);
    const { state } = await call<{ state: { room: { roomId: string }; role: string } }>(socket, 'room:join', { token: room.editToken, user: user('ann') });
    expect(state).toMatchObject({ room: { roomId: room.roomId }, role: 'edit' });
    // A's heartbeats stopped: its clients' presence goes from node B (well before awareness's own 30 s).
    await waitFor(() => !bob.provider.awareness.getStates().has(cat.doc.clientID), "cat's presence to go from B", 20_000);

    // Node B stores on SIGTERM; a fresh node reads everything back from PostgreSQL.
    const converged = docState(bob.doc);
    ann.provider.shouldConnect = false;
    bob.provider.shouldConnect = false;
    ann.provider.disconnect();
    bob.provider.disconnect();
    b.proc.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    const c = await h.startNode('c');
    const late = await yjs(c.url, room.roomId, room.viewToken);
    expect(docState(late.doc)).toBe(converged);
    await c.server.close();
  }, 120_000);

  it('SIGTERM drains a node: readiness fails, clients are told to reconnect, documents are stored', async () => {
    const [d, e] = await Promise.all([h.startChildNode('d', { STABLEDRAG_DRAIN_SECONDS: '2' }), h.startChildNode('e')]);
    expect((await fetch(`${d.url}/api/health/ready`)).status).toBe(200);
    const room = await createRoom(d.url);
    const ann = await yjs(d.url, room.roomId, room.editToken);
    const closes: number[] = [];
    ann.provider.on('connection-close', (event: { code: number } | null) => event && closes.push(event.code));
    for (let i = 0; i < 4; i++) addPoint(ann.doc, [3 + i, 5], user('ann'));

    d.proc.kill('SIGTERM');
    let ready: { draining?: boolean; failed: string[] } | null = null;
    for (const t0 = Date.now(); !ready && Date.now() - t0 < 10_000; ) {
      const res = await fetch(`${d.url}/api/health/ready`);
      if (res.status === 503) ready = (await res.json()) as { draining?: boolean; failed: string[] };
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(ready).toMatchObject({ draining: true, failed: ['draining'] });
    pointAt(ann, e);
    expect(await d.exited).toBe(0);
    expect(closes[0]).toBe(4503);
    // The client reconnects to node E; a fresh node reads the two pairs from PostgreSQL.
    await waitFor(() => ann.provider.wsconnected, 'ann to reconnect to node E', 30_000);
    const f = await h.startNode('f');
    const late = await yjs(f.url, room.roomId, room.viewToken);
    expect(readPoints(late.doc)).toHaveLength(2);
    await f.server.close();
  }, 120_000);
});
