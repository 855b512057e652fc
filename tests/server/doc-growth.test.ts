/**
 * A room's document cannot grow past what the server checked: an update that needs changes the server does
 * not have is refused (4400) rather than kept inside Yjs unchecked, the encoded document has a cap (4413), and
 * deleted content is compacted when it dominates. Real server, real y-websocket peers, a raw `ws` client for
 * what y-websocket would not send, and the real SQLite file behind the server.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { addMaskStroke, addPoint, movePoint, readMask, readPoints } from '../../contract/room-doc.js';
import { CLOSE_DOCUMENT_TOO_LARGE, CLOSE_INVALID_UPDATE, MESSAGE_SYNC } from '../../server/yjs/messages.js';
import { tombstonesIn } from '../../server/yjs/compact.js';
import { connectYjs, createRoom, fixtureYjs, nextClose, rawYjsClient, user, useServerFixture, waitFor, type YClient } from './helpers.js';

const ann = user('ann');

function syncMessage(type: number, payload: Uint8Array): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, MESSAGE_SYNC);
  encoding.writeVarUint(enc, type);
  encoding.writeVarUint8Array(enc, payload);
  return encoding.toUint8Array(enc);
}

/** Tombstones inside the room's point pairs (the old values of their keys). */
const pointTombstones = (doc: Y.Doc) => doc.getArray<Y.Map<unknown>>('points').toArray().reduce((n, pair) => n + tombstonesIn(pair), 0);

/** waitFor for a check that reads the server's document (acquire is async). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('document growth', () => {
  const fx = useServerFixture({ per: 'test' });

  const yjs = fixtureYjs(fx);

  const withServerDoc = async <T>(roomId: string, fn: (doc: Y.Doc) => T): Promise<T> => {
    const doc = await fx.server.docs.acquire(roomId);
    try {
      return fn(doc);
    } finally {
      fx.server.docs.release(doc);
    }
  };

  /** A local document that holds the room's state, as a client that synced and went its own way would. */
  async function localCopy(roomId: string): Promise<Y.Doc> {
    const local = new Y.Doc();
    Y.applyUpdate(local, await withServerDoc(roomId, (d) => Y.encodeStateAsUpdate(d)));
    return local;
  }

  /** Two edits by one local client, the second building on the first: returns each's update. */
  function twoEdits(local: Y.Doc): { first: Uint8Array; second: Uint8Array } {
    const updates: Uint8Array[] = [];
    local.on('update', (u: Uint8Array) => updates.push(u));
    const { id } = addPoint(local, [5, 5], ann);
    movePoint(local, id, 'handle', [6, 7]);
    return { first: updates[0], second: updates[1] };
  }

  it('refuses an update whose dependencies are missing (4400): nothing applied, nothing pending, nothing stored', async () => {
    const room = await createRoom(fx.server.url);
    const bystander = await yjs(room.roomId, room.editToken);
    addPoint(bystander.doc, [2, 2], user('bob'));
    await until(async () => (await withServerDoc(room.roomId, readPoints)).length === 1, 'the bystander’s point on the server');
    const local = await localCopy(room.roomId);
    const { second } = twoEdits(local);
    const before = await withServerDoc(room.roomId, (d) => Y.encodeStateAsUpdate(d));
    const attacker = await rawYjsClient(fx.server.url, room.roomId, room.editToken);
    // The handshake first (an empty step 2: nothing to add), then the second edit without the first.
    attacker.ws.send(syncMessage(syncProtocol.messageYjsSyncStep2, Y.encodeStateAsUpdate(new Y.Doc())));
    attacker.ws.send(syncMessage(syncProtocol.messageYjsUpdate, second));
    const closed = await waitFor(attacker.closed, 'the attacker to be closed', 5000);
    expect(closed.code).toBe(CLOSE_INVALID_UPDATE);
    expect(closed.reason).toMatch(/depends on changes the server does not have/);
    await withServerDoc(room.roomId, (d) => {
      expect(d.store.pendingStructs).toBeNull();
      expect(d.store.pendingDs).toBeNull();
      expect(Buffer.from(Y.encodeStateAsUpdate(d)).equals(Buffer.from(before))).toBe(true);
    });
    // A new peer gets nothing of it, now and after a restart from the database.
    const fresh = await yjs(room.roomId, room.viewToken);
    expect(Buffer.from(Y.encodeStateAsUpdate(fresh.doc)).equals(Buffer.from(before))).toBe(true);
    fresh.destroy();
    bystander.destroy();
    await fx.restart();
    const reloaded = await connectYjs(fx.server.url, room.roomId, room.viewToken);
    fx.onCleanup(reloaded.destroy);
    expect(readPoints(reloaded.doc)).toHaveLength(1);
    expect(Y.encodeStateAsUpdate(reloaded.doc).byteLength).toBe(before.byteLength);
  });

  it('does not refuse an edit sent while reconnecting, before the step 2 that brings what it builds on', async () => {
    const room = await createRoom(fx.server.url);
    const local = await localCopy(room.roomId);
    const serverVector = await withServerDoc(room.roomId, (d) => Y.encodeStateVector(d));
    const { second } = twoEdits(local);
    const client = await rawYjsClient(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(() => client.ws.terminate());
    client.ws.send(syncMessage(syncProtocol.messageYjsUpdate, second));
    client.ws.send(syncMessage(syncProtocol.messageYjsSyncStep2, Y.encodeStateAsUpdate(local, serverVector)));
    await until(async () => (await withServerDoc(room.roomId, readPoints))[0]?.handle[0] === 6, 'both edits on the server');
    expect(client.closed()).toBeNull();
    await withServerDoc(room.roomId, (d) => expect(d.store.pendingStructs).toBeNull());
  });

  it('a y-websocket peer that edits offline and again while reconnecting keeps every edit', async () => {
    const room = await createRoom(fx.server.url);
    const a = await yjs(room.roomId, room.editToken);
    const b = await yjs(room.roomId, room.editToken);
    a.provider.disconnect();
    const { id } = addPoint(a.doc, [3, 3], ann);
    movePoint(a.doc, id, 'handle', [4, 4]);
    // Edited the moment the socket opens: this update leaves before the server's sync step 1 is answered.
    const onStatus = ({ status }: { status: string }) => {
      if (status !== 'connected') return;
      a.provider.off('status', onStatus);
      movePoint(a.doc, id, 'handle', [8, 9]);
    };
    a.provider.on('status', onStatus);
    let refused: unknown = null;
    a.provider.once('closed', (e: unknown) => (refused = e));
    a.provider.connect();
    await waitFor(() => readPoints(b.doc)[0]?.handle[0] === 8, 'the offline and reconnecting edits at b');
    expect(readPoints(b.doc)[0].handle).toEqual([8, 9]);
    expect(refused).toBeNull();
    expect(a.provider.wsconnected).toBe(true);
  });

  it('refuses an update that would take the document past yjsDocumentBytes (4413); the rest is kept', async () => {
    await fx.restart({ limits: { yjsDocumentBytes: 100_000 } });
    const room = await createRoom(fx.server.url);
    const writer = await yjs(room.roomId, room.editToken);
    const watcher = await yjs(room.roomId, room.viewToken);
    const closed = nextClose(writer.provider);
    // ~36 KB a stroke: the third passes 100 KB.
    const stroke = () => addMaskStroke(writer.doc, { mode: 'flexible', radius: 2, points: Array.from({ length: 4000 }, (_, i) => (i % 29) + 0.37) });
    stroke();
    stroke();
    await waitFor(() => readMask(watcher.doc).length === 2, 'two strokes at the watcher');
    const before = await withServerDoc(room.roomId, (d) => Y.encodeStateAsUpdate(d));
    stroke();
    const e = await closed;
    expect(e.code).toBe(CLOSE_DOCUMENT_TOO_LARGE);
    expect(e.reason).toMatch(/document would be too large: \d+ bytes, the limit is 100000/);
    await new Promise((r) => setTimeout(r, 100));
    await withServerDoc(room.roomId, (d) => expect(Buffer.from(Y.encodeStateAsUpdate(d)).equals(Buffer.from(before))).toBe(true));
    expect(readMask(watcher.doc)).toHaveLength(2);
    // Smaller edits still fit, from anyone with an edit link.
    const other = await yjs(room.roomId, room.editToken);
    addPoint(other.doc, [1, 1], ann);
    await waitFor(() => readPoints(watcher.doc).length === 1, 'a point after the refusal');
  });

  /**
   * Two peers taking turns moving one point: each move leaves a tombstone no merge can absorb. Built in local
   * replicas exchanging updates directly (fast), then sent to the server by `a` as one edit; resolves once `b`
   * has it.
   */
  async function sendChurn(a: YClient, b: YClient): Promise<{ id: string; ra: Y.Doc; grown: number }> {
    const ra = new Y.Doc();
    const rb = new Y.Doc();
    const { id } = addPoint(ra, [1, 1], ann);
    Y.applyUpdate(rb, Y.encodeStateAsUpdate(ra));
    for (let i = 0; i < 1500; i++) {
      const [from, to] = i % 2 ? [ra, rb] : [rb, ra];
      movePoint(from, id, 'handle', [i % 30, (i * 7) % 30]);
      Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));
    }
    Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(ra));
    const last = readPoints(ra)[0].handle;
    await waitFor(() => readPoints(b.doc)[0]?.handle[0] === last[0] && readPoints(b.doc)[0]?.handle[1] === last[1], 'the moves at b');
    const grown = Y.encodeStateAsUpdate(ra).byteLength;
    expect(grown).toBeGreaterThan(10_000);
    expect(pointTombstones(ra)).toBe(1500);
    return { id, ra, grown };
  }

  it('compacts tombstones when they dominate, at store time: peers stay connected and agree, the stored document shrinks', async () => {
    await fx.restart({ limits: { yjsCompactMinTombstones: 500 } });
    const room = await createRoom(fx.server.url);
    const a = await yjs(room.roomId, room.editToken);
    const b = await yjs(room.roomId, room.editToken);
    const { id, ra, grown } = await sendChurn(a, b);
    // The test server stores 50 ms after the last edit: the compaction happens then and reaches the peers.
    await until(async () => (await withServerDoc(room.roomId, (d) => Y.encodeStateAsUpdate(d).byteLength)) < grown / 10, 'the server’s document to shrink');
    // A peer drops the tombstones too (its gc turns them into GC ranges), though it merges those ranges only
    // when it next loads the room afresh.
    await waitFor(() => pointTombstones(b.doc) === 0, 'b’s tombstones to go');
    expect(Y.encodeStateAsUpdate(b.doc).byteLength).toBeLessThan(grown / 3);
    await withServerDoc(room.roomId, (d) => expect(pointTombstones(d)).toBe(0));
    for (const c of [a, b]) {
      expect(c.provider.wsconnected).toBe(true);
      expect(readPoints(c.doc)).toEqual([{ ...readPoints(ra)[0] }]);
    }
    // Editing goes on, on the copy: the point keeps its id.
    movePoint(b.doc, id, 'handle', [12, 13]);
    await waitFor(() => readPoints(a.doc)[0]?.handle[0] === 12, 'a move after the compaction at a');
    // Stored: the database holds the small document, and a restart loads the same points.
    a.destroy();
    b.destroy();
    await fx.restart();
    const stored = await fx.server.store.loadDocument(room.roomId);
    const storedBytes = (stored.state?.byteLength ?? 0) + stored.updates.reduce((n, u) => n + u.byteLength, 0);
    expect(storedBytes).toBeLessThan(grown / 10);
    const reloaded = await yjs(room.roomId, room.viewToken);
    expect(readPoints(reloaded.doc)).toMatchObject([{ id, handle: [12, 13] }]);
  });

  it('sends a compaction to the peers only once the store that follows it is done', async () => {
    // A hook after the room's own store that holds the store open until the test lets it finish.
    let finishStore = () => {};
    const stored = new Promise<void>((ok) => (finishStore = ok));
    fx.onCleanup(() => finishStore());
    await fx.restart({ limits: { yjsCompactMinTombstones: 500 }, yjsHooks: [{ onStoreDocument: () => stored }] });
    const room = await createRoom(fx.server.url);
    const a = await yjs(room.roomId, room.editToken);
    const b = await yjs(room.roomId, room.editToken);
    await sendChurn(a, b);
    await until(async () => (await withServerDoc(room.roomId, pointTombstones)) === 0, 'the server to compact');
    // The room's store has written the compacted state; the peers have not been sent it yet.
    await until(async () => ((await fx.server.store.loadDocument(room.roomId)).state?.byteLength ?? Infinity) < 2000, 'the compacted state in the database');
    await new Promise((r) => setTimeout(r, 300));
    expect(pointTombstones(b.doc)).toBe(1500);
    finishStore();
    await waitFor(() => pointTombstones(b.doc) === 0 && pointTombstones(a.doc) === 0, 'the compaction at the peers');
    expect(readPoints(b.doc)).toEqual(await withServerDoc(room.roomId, readPoints));
  });
});
