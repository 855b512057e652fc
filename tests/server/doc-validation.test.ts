/**
 * Every Yjs update a client sends is checked before it reaches the room's document (issue "hardening"): a bad
 * one closes its sender with 4400 and the reason (1009 for one over the size limit), nothing of it is applied,
 * and the other peers and the stored document are untouched. Real server, real y-websocket clients, and a raw
 * `ws` client speaking the protocol for what y-websocket would not send.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { WebSocket } from 'ws';
import { addMaskStroke, addPoint, maskOf, movePoint, pointsOf, readPoints, settingsOf, updateSettings } from '../../contract/room-doc.js';
import { DOC_LIMITS } from '../../contract/doc-limits.js';
import { validateRoomDoc } from '../../contract/doc-validate.js';
import { YJS_PATH } from '../../contract/events.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';
import { CLOSE_FORBIDDEN, CLOSE_INVALID_UPDATE, closeReason } from '../../server/yjs/messages.js';
import { UpdateProbe } from '../../server/yjs/update-probe.js';
import { createRoom, fixtureYjs, nextClose, user, useServerFixture, waitFor } from './helpers.js';

const ann = user('ann');

function rawPair(fields: Record<string, unknown> = {}): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  const all = { id: `p${Math.random().toString(36).slice(2, 8)}`, handle: [1, 2], target: null, by: ann, ...fields };
  for (const [k, v] of Object.entries(all)) m.set(k, v);
  return m;
}

describe('update validation', () => {
  const fx = useServerFixture({ per: 'test' });

  const yjs = fixtureYjs(fx);

  /** The server's copy of the room's document, encoded. */
  const serverState = async (roomId: string): Promise<Uint8Array> => {
    const doc = await fx.server.docs.acquire(roomId);
    try {
      return Y.encodeStateAsUpdate(doc);
    } finally {
      fx.server.docs.release(doc);
    }
  };

  /** A room with valid content, a bystander peer and a fresh attacker connected. */
  async function scene() {
    const room = await createRoom(fx.server.url);
    const bystander = await yjs(room.roomId, room.editToken);
    addPoint(bystander.doc, [4, 4], user('bob'));
    addPoint(bystander.doc, [8, 6], user('bob'));
    addMaskStroke(bystander.doc, { mode: 'flexible', radius: 3, points: [10, 10, 12, 12] });
    updateSettings(bystander.doc, { maxSteps: 20 });
    const attacker = await yjs(room.roomId, room.editToken);
    await waitFor(() => readPoints(attacker.doc).length === 1 && attacker.doc.getArray('mask').length === 1, 'the attacker to sync');
    return { room, bystander, attacker };
  }

  /**
   * `attack` edits the attacker's local document (y-websocket sends the update). Expects the close code and
   * a reason matching `reason`; the server and the bystander must be unchanged, the bystander still connected
   * and able to edit.
   */
  async function expectRefused(attack: (doc: Y.Doc) => void, code: number, reason: RegExp) {
    const { room, bystander, attacker } = await scene();
    const before = await serverState(room.roomId);
    const bystanderBefore = Y.encodeStateAsUpdate(bystander.doc);
    const refusedBefore = fx.server.docs.refusedUpdates.get(room.roomId) ?? 0;
    const closed = nextClose(attacker.provider);
    attack(attacker.doc);
    const e = await closed;
    attacker.destroy();
    expect(e.code).toBe(code);
    expect(e.reason).toMatch(reason);
    expect(Buffer.byteLength(e.reason)).toBeLessThanOrEqual(123);
    if (code === CLOSE_INVALID_UPDATE) expect(fx.server.docs.refusedUpdates.get(room.roomId)).toBe(refusedBefore + 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.from(await serverState(room.roomId)).equals(Buffer.from(before))).toBe(true);
    expect(Buffer.from(Y.encodeStateAsUpdate(bystander.doc)).equals(Buffer.from(bystanderBefore))).toBe(true);
    expect(bystander.provider.wsconnected).toBe(true);
    // The bystander still edits, and what the server holds is valid and complete.
    addPoint(bystander.doc, [20, 20], user('bob'));
    const fresh = await yjs(room.roomId, room.viewToken);
    await waitFor(() => readPoints(fresh.doc).length === 2, 'the bystander’s new point at a fresh peer');
    expect(validateRoomDoc(fresh.doc, 32)).toBeNull();
    return room;
  }

  it('refuses a point with NaN', async () => {
    await expectRefused((d) => pointsOf(d).push([rawPair({ handle: [Number.NaN, 3] })]), CLOSE_INVALID_UPDATE, /^points\[1\]\.handle: x is NaN$/);
  });

  it(`refuses ${DOC_LIMITS.maxPointPairs + 1} point pairs`, async () => {
    await expectRefused(
      (d) => pointsOf(d).push(Array.from({ length: DOC_LIMITS.maxPointPairs }, () => rawPair())),
      CLOSE_INVALID_UPDATE,
      /^points: 33 pairs, at most 32$/,
    );
  });

  it('refuses a point outside the image, also when it is moved there', async () => {
    await expectRefused((d) => pointsOf(d).push([rawPair({ handle: [5, 33] })]), CLOSE_INVALID_UPDATE, /^points\[1\]\.handle: y = 33 is outside the image \[0, 32\]$/);
    await expectRefused((d) => movePoint(d, readPoints(d)[0].id, 'target', [-3, 1]), CLOSE_INVALID_UPDATE, /^points\[0\]\.target: x = -3 is outside/);
  });

  it('refuses an unknown root type carrying a large payload', async () => {
    await expectRefused((d) => d.getText('payload').insert(0, 'x'.repeat(500_000)), CLOSE_INVALID_UPDATE, /^unknown root type "payload"$/);
  });

  it('refuses a setting of the wrong type', async () => {
    await expectRefused((d) => settingsOf(d).set('maxSteps', '50'), CLOSE_INVALID_UPDATE, /^settings\.maxSteps: expected a number, got string$/);
    await expectRefused((d) => settingsOf(d).set('lr', Infinity), CLOSE_INVALID_UPDATE, /^settings\.lr: Infinity$/);
  });

  it('refuses a bad mask stroke', async () => {
    await expectRefused((d) => maskOf(d).push([{ id: 's', mode: 'flexible', radius: 500, points: [1, 1] }]), CLOSE_INVALID_UPDATE, /^mask\[1\]\.radius: 500 is outside/);
  });

  it('closes a client whose message is over yjsMessageBytes (1009)', async () => {
    await fx.restart({ limits: { yjsMessageBytes: 20_000 } });
    expect(fx.server.limits.yjsMessageBytes).toBe(20_000);
    // A valid stroke, just too big to send in one message.
    await expectRefused((d) => addMaskStroke(d, { mode: 'flexible', radius: 2, points: new Array(DOC_LIMITS.maxStrokeCoords).fill(0).map((_, i) => (i * 7.77) % 32) }), 1009, /.*/);
  });

  it('lets valid edits of every kind through', async () => {
    const { room, bystander, attacker } = await scene();
    let closed = false;
    attacker.provider.on('connection-close', () => (closed = true));
    const a = user('ann');
    for (let i = 0; i < DOC_LIMITS.maxPointPairs - 1; i++) {
      addPoint(attacker.doc, [i, 32 - i], a);
      addPoint(attacker.doc, [32, 0], a);
    }
    movePoint(attacker.doc, readPoints(attacker.doc)[3].id, 'handle', [0, 32]);
    addMaskStroke(attacker.doc, { mode: 'fixed', radius: 0.5, points: [-128, 160, 5.5, 6.25] }, { size: 32 });
    updateSettings(attacker.doc, { method: 'draggan', lr: 0.1, lambda: 0, maxSteps: 1000, latentSpace: 'w' });
    expect(() => addPoint(attacker.doc, [1, 1], user('carol'))).toThrow(/at most 32/);
    await waitFor(() => readPoints(bystander.doc).length === DOC_LIMITS.maxPointPairs && bystander.doc.getArray('mask').length === 2 && settingsOf(bystander.doc).get('lr') === 0.1, 'the edits at the bystander');
    expect(closed).toBe(false);
    expect(fx.server.docs.refusedUpdates.get(room.roomId)).toBeUndefined();
    const fresh = await yjs(room.roomId, room.viewToken);
    expect(validateRoomDoc(fresh.doc, 32)).toBeNull();
    expect(readPoints(fresh.doc)).toHaveLength(DOC_LIMITS.maxPointPairs);
  });

  it('refuses a raw sync step 2 and drops what the connection sent after it', async () => {
    const { room, bystander } = await scene();
    const before = await serverState(room.roomId);
    // Updates built on a replica of the server's document, sent as a hand-made client would.
    const replica = new Y.Doc();
    Y.applyUpdate(replica, before);
    const sv = Y.encodeStateVector(replica);
    pointsOf(replica).push([rawPair({ target: [1, 'x'] })]);
    const bad = Y.encodeStateAsUpdate(replica, sv);
    const sv2 = Y.encodeStateVector(replica);
    settingsOf(replica).set('maxSteps', 30);
    const good = Y.encodeStateAsUpdate(replica, sv2);
    const msg = (write: (e: encoding.Encoder) => void) => {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 0);
      write(e);
      return encoding.toUint8Array(e);
    };
    const ws = new WebSocket(`${fx.server.url.replace(/^http/, 'ws')}${YJS_PATH}/${room.roomId}`, yjsProtocols(room.editToken));
    const closed = new Promise<{ code: number; reason: string }>((ok) => ws.on('close', (code, reason) => ok({ code, reason: reason.toString() })));
    await new Promise((ok) => ws.once('open', ok));
    // Sync step 2 (what a client answers the server's step 1 with) carrying the bad point, then a valid update.
    ws.send(msg((e) => {
      encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2);
      encoding.writeVarUint8Array(e, bad);
    }));
    ws.send(msg((e) => syncProtocol.writeUpdate(e, good)));
    const e = await closed;
    expect(e).toEqual({ code: CLOSE_INVALID_UPDATE, reason: 'points[1].target: y is string' });
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.from(await serverState(room.roomId)).equals(Buffer.from(before))).toBe(true);
    expect(settingsOf(bystander.doc).get('maxSteps')).toBe(20);
  });

  it('disconnect() closes only the matching connections, with 4403', async () => {
    const room = await createRoom(fx.server.url);
    const editors = [await yjs(room.roomId, room.editToken), await yjs(room.roomId, room.editToken)];
    const watcher = await yjs(room.roomId, room.viewToken);
    const other = await createRoom(fx.server.url, 4);
    const elsewhere = await yjs(other.roomId, other.editToken);
    const closes = editors.map((c) => nextClose(c.provider));
    expect(fx.server.docs.disconnect(room.roomId, (c) => c.token === room.editToken, CLOSE_FORBIDDEN, 'link revoked')).toBe(2);
    for (const e of await Promise.all(closes)) expect(e).toEqual({ code: CLOSE_FORBIDDEN, reason: 'link revoked' });
    expect(watcher.provider.wsconnected).toBe(true);
    expect(elsewhere.provider.wsconnected).toBe(true);
    // The watcher still gets the room's changes.
    const doc = await fx.server.docs.acquire(room.roomId);
    addPoint(doc, [2, 2], user('server'));
    fx.server.docs.release(doc);
    await waitFor(() => readPoints(watcher.doc).length === 1, 'a change at the watcher');
    expect(fx.server.docs.disconnect(room.roomId, (c) => c.role === 'nobody', CLOSE_FORBIDDEN, 'link revoked')).toBe(0);
    expect(fx.server.docs.disconnect(room.roomId, (c) => c.role === 'view', CLOSE_FORBIDDEN, 'link revoked')).toBe(1);
  });
});

describe('UpdateProbe and closeReason', () => {
  it('checks an update on a shadow that follows the document, without touching the document', () => {
    const doc = new Y.Doc();
    const probe = new UpdateProbe(doc);
    const validate = (shadow: Y.Doc, touched: ReadonlySet<string>) => validateRoomDoc(shadow, 32, touched);
    const client = new Y.Doc();
    const updates: Uint8Array[] = [];
    client.on('update', (u: Uint8Array) => updates.push(u));
    addPoint(client, [1, 1], ann);
    expect(probe.check(updates[0], validate)).toBeNull();
    Y.applyUpdate(doc, updates[0]);
    // A server-side edit reaches the shadow too.
    addPoint(doc, [2, 2], ann);
    Y.applyUpdate(client, Y.encodeStateAsUpdate(doc));
    updates.length = 0;
    pointsOf(client).push([rawPair({ handle: [Number.NaN, 0] })]);
    const before = Y.encodeStateAsUpdate(doc);
    expect(probe.check(updates[0], validate)).toBe('points[1].handle: x is NaN');
    expect(Buffer.from(Y.encodeStateAsUpdate(doc)).equals(Buffer.from(before))).toBe(true);
    // After a refusal the shadow is rebuilt from the document: a valid edit passes again.
    const again = new Y.Doc();
    Y.applyUpdate(again, before);
    const ups: Uint8Array[] = [];
    again.on('update', (u: Uint8Array) => ups.push(u));
    updateSettings(again, { maxSteps: 3 });
    expect(probe.check(ups[0], validate)).toBeNull();
    expect(probe.check(new Uint8Array([1, 2, 3, 4, 5]), validate)).toMatch(/^malformed update/);
    probe.destroy();
  });

  it('cuts close reasons to 123 bytes of UTF-8 at a character boundary', () => {
    expect(closeReason('short')).toBe('short');
    const long = closeReason('é'.repeat(100));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
    expect(long.endsWith('é...')).toBe(true);
  });
});
