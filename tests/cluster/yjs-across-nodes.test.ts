/**
 * Yjs across two web nodes (real redis-server, real PostgreSQL, two startStudioServer nodes in this
 * process): y-websocket clients on node A and node B edit one room at the same time and converge, the
 * database holds the converged document (a fresh node loads it), presence crosses nodes and goes away with
 * its client and with its node, an update the validation refuses on the node it came in on reaches no one,
 * and a node that gets a relayed change whose dependency Redis never delivered asks for it at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Redis } from 'ioredis';
import * as encoding from 'lib0/encoding';
import { encodeRelayMessage } from '../../server/cluster/yjs-relay-messages.js';
import { encodePresenceEntries } from '../../server/yjs/presence-gate.js';
import { MESSAGE_AWARENESS } from '../../server/yjs/messages.js';
import { addMaskStroke, addPoint, movePoint, readPoints, updateSettings } from '../../contract/room-doc.js';
import { connectYjs, createRoom, nextClose, rawYjsClient, user, waitFor, type YClient } from '../server/helpers.js';
import { docState, storedDocState } from '../server/room-agreement.js';
import { startClusterHarness, type ClusterHarness, type InProcessNode } from './cluster-harness.js';

describe('Yjs across two web nodes', () => {
  let h: ClusterHarness;
  let a: InProcessNode;
  let b: InProcessNode;
  const clients: YClient[] = [];
  const yjs = async (node: InProcessNode, roomId: string, token: string) => {
    const c = await connectYjs(node.url, roomId, token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    h = await startClusterHarness();
    a = await h.startNode('a');
    b = await h.startNode('b');
  }, 120_000);
  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await h?.stop();
  }, 60_000);

  it('clients on both nodes converge, and the database holds the converged document', async () => {
    const room = await createRoom(a.url);
    const ann = await yjs(a, room.roomId, room.editToken);
    const bob = await yjs(b, room.roomId, room.editToken);
    const cat = await yjs(b, room.roomId, room.viewToken);
    // Concurrent edits on both sides, with no wait in between.
    for (let i = 0; i < 10; i++) {
      addPoint(ann.doc, [2 + i, 3], user('ann'));
      addPoint(bob.doc, [3, 2 + i], user('bob'));
    }
    addMaskStroke(bob.doc, { mode: 'flexible', radius: 4, points: [4, 4, 20, 20] });
    updateSettings(ann.doc, { maxSteps: 77 });
    await waitFor(() => readPoints(ann.doc).length === 10 && readPoints(bob.doc).length === 10, 'every point on every replica');
    const first = readPoints(ann.doc)[0];
    movePoint(bob.doc, first.id, 'handle', [30, 30]);
    movePoint(ann.doc, first.id, 'handle', [1, 1]);
    const replicas = [ann, bob, cat];
    await waitFor(() => new Set(replicas.map((c) => docState(c.doc))).size === 1 && docState(cat.doc).includes('77'), 'the replicas to converge');
    const converged = docState(ann.doc);
    expect(readPoints(cat.doc)).toHaveLength(10);

    // Both nodes store what they hold, merging what the other stored: the database converges too.
    await a.server.docs.flushAll();
    await b.server.docs.flushAll();
    expect(await storedDocState(a.server.store, room.roomId)).toBe(converged);

    // Both nodes stop (each stores on close); a fresh node loads the converged document from PostgreSQL.
    for (const c of replicas) c.destroy();
    await a.server.close();
    await b.server.close();
    const c = await h.startNode('c');
    const late = await yjs(c, room.roomId, room.viewToken);
    expect(docState(late.doc)).toBe(converged);
    b = await h.startNode('b2');
    a = c;
  }, 90_000);

  it('presence from one node shows on the other, and goes away with its client', async () => {
    const room = await createRoom(a.url);
    const ann = await yjs(a, room.roomId, room.editToken);
    const bob = await yjs(b, room.roomId, room.editToken);
    ann.provider.awareness.setLocalStateField('user', { name: 'ann' });
    bob.provider.awareness.setLocalStateField('user', { name: 'bob' });
    const annId = ann.doc.clientID;
    const bobId = bob.doc.clientID;
    await waitFor(() => bob.provider.awareness.getStates().get(annId)?.user?.name === 'ann', "ann's presence on node B");
    await waitFor(() => ann.provider.awareness.getStates().get(bobId)?.user?.name === 'bob', "bob's presence on node A");
    // A client on node B cannot overwrite the presence of ann, whose client is on node A.
    const mallory = await rawYjsClient(b.url, room.roomId, room.editToken);
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(enc, encodePresenceEntries([{ clientId: annId, clock: 1000, state: JSON.stringify({ user: { name: 'mallory' } }) }]));
    mallory.ws.send(encoding.toUint8Array(enc));
    ann.provider.awareness.setLocalStateField('user', { name: 'ann again' });
    await waitFor(() => bob.provider.awareness.getStates().get(annId)?.user?.name === 'ann again', "ann's next presence on node B");
    mallory.ws.close();
    // A client that joins later sees both at once.
    const cat = await yjs(b, room.roomId, room.viewToken);
    await waitFor(() => cat.provider.awareness.getStates().has(annId) && cat.provider.awareness.getStates().has(bobId), 'both presences for a late joiner');
    ann.destroy();
    await waitFor(() => !bob.provider.awareness.getStates().has(annId) && !cat.provider.awareness.getStates().has(annId), "ann's presence to go from node B");
  }, 60_000);

  it("a node that stops takes its clients' presence with it", async () => {
    const c = await h.startNode('c2');
    const room = await createRoom(a.url);
    const ann = await yjs(c, room.roomId, room.editToken);
    const bob = await yjs(b, room.roomId, room.editToken);
    ann.provider.awareness.setLocalStateField('user', { name: 'ann' });
    const annId = ann.doc.clientID;
    await waitFor(() => bob.provider.awareness.getStates().has(annId), "ann's presence on node B");
    // ann's client would reconnect to node C and announce itself again; it is gone with its node here.
    ann.provider.shouldConnect = false;
    await c.server.close();
    await waitFor(() => !bob.provider.awareness.getStates().has(annId), "ann's presence to go when node C stops", 15_000);
  }, 60_000);

  it('an update refused on the node it came in on reaches nobody', async () => {
    const room = await createRoom(a.url);
    const bob = await yjs(b, room.roomId, room.editToken);
    const ann = await yjs(a, room.roomId, room.editToken);
    addPoint(ann.doc, [5, 5], user('ann'));
    await waitFor(() => readPoints(bob.doc).length === 1, 'the valid point on node B');
    const closed = nextClose(ann.provider);
    // Outside the 32 px image: doc-validate refuses it on node A, which closes ann with 4400.
    addPoint(ann.doc, [5000, 5], user('ann'));
    expect((await closed).code).toBe(4400);
    addPoint(bob.doc, [6, 6], user('bob'));
    await waitFor(() => readPoints(bob.doc).length === 2, "bob's second point");
    const late = await yjs(a, room.roomId, room.viewToken);
    await waitFor(() => readPoints(late.doc).length === 2, 'both valid points on node A');
    expect(readPoints(bob.doc).map((p) => p.handle)).toEqual([[5, 5], [6, 6]]);
    expect(a.server.docs.refusedUpdates.get(room.roomId)).toBe(1);
    expect(b.server.docs.refusedUpdates.get(room.roomId)).toBeUndefined();
  }, 60_000);

  it('a node that misses a relayed change asks for it, and its clients keep editing', async () => {
    const room = await createRoom(a.url);
    const ann = await yjs(a, room.roomId, room.editToken);
    const bob = await yjs(b, room.roomId, room.editToken);
    // Two changes of a third node: the first reaches node A only (as if Redis had dropped it on the way to B).
    const ghost = new Y.Doc();
    addPoint(ghost, [1, 1], user('ghost'));
    const first = Y.encodeStateAsUpdate(ghost);
    const before = Y.encodeStateVector(ghost);
    addPoint(ghost, [2, 2], user('ghost'));
    const second = Y.encodeStateAsUpdate(ghost, before);
    const redis = new Redis(h.redis.url);
    try {
      const channel = `${h.prefix}:yjs:${room.roomId}`;
      await redis.publish(channel, encodeRelayMessage({ kind: 'answer', from: 'ghost', to: a.nodeId, update: first }));
      await waitFor(() => readPoints(ann.doc).length === 1, 'the first change on node A');
      await redis.publish(channel, encodeRelayMessage({ kind: 'update', from: 'ghost', update: second }));
    } finally {
      redis.disconnect();
    }
    await waitFor(() => readPoints(bob.doc)[0]?.target, 'node B to fill the gap from node A');
    addPoint(bob.doc, [3, 3], user('bob'));
    await waitFor(() => readPoints(ann.doc).length === 2, "bob's edit on node A");
    expect(b.server.docs.refusedUpdates.get(room.roomId)).toBeUndefined();
  }, 60_000);
});
