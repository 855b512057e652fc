/**
 * What one Yjs connection can make the server send and hold is bounded: its messages go through a token
 * bucket (close 4420), its sync requests are answered at most once per interval, and a peer that leaves more
 * than yjsBufferedBytes unread is closed (4408). Real server, real y-websocket peers, and a raw `ws` client that
 * floods sync step 1 and never reads (its socket paused, so the server's send buffer fills).
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import { addMaskStroke, addPoint, movePoint, readPoints } from '../../contract/room-doc.js';
import { CLOSE_MESSAGE_RATE, CLOSE_TOO_SLOW, MESSAGE_SYNC } from '../../server/yjs/messages.js';
import { connectYjs, createRoom, rawYjsClient, user, useServerFixture, waitFor } from './helpers.js';

/** A sync step 1 with an empty state vector: "send me the whole document". */
function syncRequest(doc = new Y.Doc()): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, MESSAGE_SYNC);
  syncProtocol.writeSyncStep1(enc, doc);
  return encoding.toUint8Array(enc);
}

/** The sync step 2 messages among `received` (answers to our step 1), decoded to their updates. */
function syncAnswers(received: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of received) {
    const d = decoding.createDecoder(m);
    if (decoding.readVarUint(d) !== MESSAGE_SYNC || decoding.readVarUint(d) !== syncProtocol.messageYjsSyncStep2) continue;
    out.push(decoding.readVarUint8Array(d));
  }
  return out;
}

/** Mask strokes of 2000 dabs of non-integer coordinates (~36 KB each) until the document holds about `bytes`. */
function fillMask(doc: Y.Doc, bytes: number): void {
  const strokes = Math.ceil(bytes / 36_000);
  for (let s = 0; s < strokes; s++) {
    addMaskStroke(doc, { mode: 'flexible', radius: 3, points: Array.from({ length: 4000 }, (_, i) => ((i * 7.31 + s) % 30) + 0.123) });
  }
}

/** Bytes the process holds outside the V8 heap's fixed parts: where buffered websocket frames live. */
const heldBytes = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

describe('Yjs amplification', () => {
  const fx = useServerFixture({ per: 'test' });

  /** A room whose document is ~300 KB, with an editor connected. */
  async function bigRoom() {
    const room = await createRoom(fx.server.url);
    const editor = await connectYjs(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(editor.destroy);
    fillMask(editor.doc, 300_000);
    addPoint(editor.doc, [4, 4], user('ed'));
    const serverDoc = await fx.server.docs.acquire(room.roomId);
    fx.onCleanup(() => fx.server.docs.release(serverDoc));
    await waitFor(() => readPoints(serverDoc).length === 1, 'the editor’s content on the server');
    const size = Y.encodeStateAsUpdate(serverDoc).byteLength;
    expect(size).toBeGreaterThan(250_000);
    return { room, editor, serverDoc, size };
  }

  /** The editor and a new watcher still work: an edit reaches the watcher. */
  async function othersStillServed(room: { roomId: string; viewToken: string }, editor: { doc: Y.Doc }) {
    const watcher = await connectYjs(fx.server.url, room.roomId, room.viewToken);
    fx.onCleanup(watcher.destroy);
    addPoint(editor.doc, [9, 9], user('ed'));
    await waitFor(() => readPoints(watcher.doc).length === 2 || readPoints(watcher.doc).some((p) => p.target !== null), 'the editor’s next point at a new watcher');
  }

  it('closes a watch link that floods sync requests and never reads (4420); memory stays bounded and the others are served', async () => {
    const { room, editor, serverDoc, size } = await bigRoom();
    const before = heldBytes();
    const flood = await rawYjsClient(fx.server.url, room.roomId, room.viewToken);
    flood.ws.pause();
    const request = syncRequest();
    // 1000 requests for the whole document: unanswered-at-most-once-per-second and budgeted, else ~300 MB queued.
    for (let i = 0; i < 1000; i++) flood.ws.send(request);
    await waitFor(() => serverDoc.conns.size === 1, 'the flooding connection to be dropped', 20_000);
    expect(heldBytes() - before).toBeLessThan(100 * 1024 * 1024);
    await othersStillServed(room, editor);
    // Reading again, the client finds at most two answers (the first at once, the rest coalesced), then the close.
    flood.ws.resume();
    const closed = await waitFor(flood.closed, 'the close to reach the flooding client');
    expect(closed.code).toBe(CLOSE_MESSAGE_RATE);
    expect(closed.reason).toMatch(/too many messages: over 200 per second/);
    expect(syncAnswers(flood.received).length).toBeLessThanOrEqual(2);
    expect(syncAnswers(flood.received)[0].byteLength).toBeGreaterThanOrEqual(size - 100);
  });

  it('answers repeated sync requests once per interval, coalescing the rest into one answer at its end', async () => {
    const { room, serverDoc } = await bigRoom();
    const client = await rawYjsClient(fx.server.url, room.roomId, room.viewToken);
    fx.onCleanup(() => client.ws.terminate());
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) client.ws.send(syncRequest());
    await waitFor(() => syncAnswers(client.received).length >= 1, 'the first answer');
    await new Promise((r) => setTimeout(r, 300));
    expect(syncAnswers(client.received)).toHaveLength(1);
    await waitFor(() => syncAnswers(client.received).length >= 2, 'the coalesced answer');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(fx.server.limits.yjsSyncIntervalMs - 50);
    await new Promise((r) => setTimeout(r, 300));
    expect(syncAnswers(client.received)).toHaveLength(2);
    // Each answer is the whole document for the empty state vector: a fresh copy built from it matches the server.
    const copy = new Y.Doc();
    Y.applyUpdate(copy, syncAnswers(client.received)[1]);
    expect(Buffer.from(Y.encodeStateAsUpdate(copy)).equals(Buffer.from(Y.encodeStateAsUpdate(serverDoc)))).toBe(true);
    expect(client.closed()).toBeNull();
  });

  it('closes a reader that leaves more than yjsBufferedBytes unread (4408) and frees what was held for it', async () => {
    // Budget and pace out of the way, so answers pile up as fast as the client asks for them.
    await fx.restart({ limits: { yjsBufferedBytes: 1_000_000, yjsSyncIntervalMs: 1, yjsMessagesPerSecond: 1e6, yjsMessageBurst: 1e6 } });
    const { room, editor, serverDoc } = await bigRoom();
    const before = heldBytes();
    const slow = await rawYjsClient(fx.server.url, room.roomId, room.viewToken);
    slow.ws.pause();
    const request = syncRequest();
    // ~300 KB answered per request, a request every 2 ms: the kernel's buffers (a few MB on loopback) fill first.
    for (let i = 0; i < 1000 && serverDoc.conns.size > 1; i++) {
      slow.ws.send(request);
      await new Promise((r) => setTimeout(r, 2));
    }
    await waitFor(() => serverDoc.conns.size === 1, 'the slow reader to be dropped', 20_000);
    expect(heldBytes() - before).toBeLessThan(100 * 1024 * 1024);
    await othersStillServed(room, editor);
    slow.ws.resume();
    const closed = await waitFor(slow.closed, 'the slow reader’s close', 20_000);
    // It read on within the grace, so it sees why; else the server cuts it off (1006) after 2 s.
    expect([CLOSE_TOO_SLOW, 1006]).toContain(closed.code);
    if (closed.code === CLOSE_TOO_SLOW) expect(closed.reason).toMatch(/too slow: \d+ bytes unread/);
  });

  it('leaves a y-websocket peer that edits and moves its cursor at the app’s pace alone', async () => {
    const room = await createRoom(fx.server.url);
    const a = await connectYjs(fx.server.url, room.roomId, room.editToken);
    const b = await connectYjs(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(a.destroy, b.destroy);
    addPoint(a.doc, [1, 1], user('a'));
    await waitFor(() => readPoints(b.doc).length === 1, 'the point at b');
    const id = readPoints(a.doc)[0].id;
    // Two seconds of dragging at 120 Hz with the cursor at 20 Hz: ~280 messages, under the budget's pace.
    for (let i = 0; i < 240; i++) {
      movePoint(a.doc, id, 'handle', [1 + (i % 20), 2]);
      if (i % 6 === 0) a.provider.awareness.setLocalStateField('cursor', [i % 20, 3]);
      await new Promise((r) => setTimeout(r, 1000 / 120));
    }
    movePoint(a.doc, id, 'handle', [30, 30]);
    await waitFor(() => readPoints(b.doc)[0]?.handle[0] === 30, 'the last move at b');
    expect(a.provider.wsconnected).toBe(true);
  });
});
