/** Rooms, tokens and the shared document: convergence, refused watcher writes, persistence across restarts. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as encoding from 'lib0/encoding';
import { addMaskStroke, addPoint, readMask, readPoints, readSettings, updateSettings } from '../../contract/room-doc.js';
import type { RoomState } from '../../contract/events.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';
import { call, connectSocket, createRoom, fixtureYjs, user, useServerFixture, waitFor } from './helpers.js';

describe('collaborative room', () => {
  const fx = useServerFixture({ per: 'test' });

  const yjs = fixtureYjs(fx);

  it('creates a room with distinct unguessable edit and view tokens, and joins by either', async () => {
    const room = await createRoom(fx.server.url);
    expect(room.editToken).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(room.viewToken).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(room.editToken).not.toBe(room.viewToken);
    const s = await connectSocket(fx.server.url);
    fx.onCleanup(() => s.disconnect());
    const asEditor = await call<{ state: RoomState }>(s, 'room:join', { token: room.editToken, user: user('ann') });
    expect(asEditor.state.role).toBe('edit');
    expect(asEditor.state.room.roomId).toBe(room.roomId);
    expect(asEditor.state.image.mime).toBe('image/png');
    expect(asEditor.state.image.width).toBe(32);
    const asWatcher = await call<{ state: RoomState }>(s, 'room:join', { token: room.viewToken, user: user('ann') });
    expect(asWatcher.state.role).toBe('view');
    // Editors can share both links; a watcher only ever learns the watch link.
    expect(asEditor.state.links).toEqual({ edit: room.editToken, view: room.viewToken });
    expect(asWatcher.state.links).toEqual({ view: room.viewToken });
    await expect(call(s, 'room:join', { token: 'x'.repeat(24), user: user('ann') })).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('two editors converge on points, mask and settings', async () => {
    const room = await createRoom(fx.server.url);
    const a = await yjs(room.roomId, room.editToken);
    const b = await yjs(room.roomId, room.editToken);
    addPoint(a.doc, [5, 5], user('ann'));
    addPoint(b.doc, [20, 20], user('bob'));
    addPoint(a.doc, [9, 7], user('ann'));
    addMaskStroke(b.doc, { mode: 'flexible', radius: 4, points: [10, 10, 14, 12] });
    updateSettings(a.doc, { maxSteps: 7, method: 'draggan' });
    const same = () => JSON.stringify([readPoints(a.doc), readMask(a.doc), readSettings(a.doc)]) === JSON.stringify([readPoints(b.doc), readMask(b.doc), readSettings(b.doc)]);
    await waitFor(() => same() && readPoints(a.doc).length === 2 && readMask(a.doc).length === 1 && readSettings(b.doc).maxSteps === 7, 'convergence');
    const pts = readPoints(b.doc);
    const ann = pts.find((p) => p.by?.name === 'ann')!;
    expect(ann.handle).toEqual([5, 5]);
    expect(ann.target).toEqual([9, 7]);
    expect(pts.find((p) => p.by?.name === 'bob')!.target).toBeNull();
  });

  it('refuses a watcher’s edits: the server and other peers never see them', async () => {
    const room = await createRoom(fx.server.url);
    const editor = await yjs(room.roomId, room.editToken);
    const watcher = await yjs(room.roomId, room.viewToken);
    addPoint(watcher.doc, [1, 1], user('mallory'));
    addMaskStroke(watcher.doc, { mode: 'flexible', radius: 3, points: [2, 2] });
    await waitFor(() => (fx.server.refusedWrites.get(room.roomId) ?? 0) >= 2, 'the server to refuse the writes');
    // The editor's own edit still reaches the watcher, proving the connection works both ways.
    addPoint(editor.doc, [4, 4], user('ann'));
    await waitFor(() => readPoints(watcher.doc).some((p) => p.by?.name === 'ann'), 'the editor’s point at the watcher');
    expect(readPoints(editor.doc).map((p) => p.by?.name)).toEqual(['ann']);
    expect(readMask(editor.doc)).toEqual([]);
    // A fresh peer sees only what the server accepted.
    const fresh = await yjs(room.roomId, room.editToken);
    expect(readPoints(fresh.doc).map((p) => p.by?.name)).toEqual(['ann']);
  });

  it('refuses a Yjs connection with a wrong token or another room’s token', async () => {
    const room = await createRoom(fx.server.url);
    const other = await createRoom(fx.server.url, 4);
    for (const [roomId, token] of [[room.roomId, 'nope'], [room.roomId, other.editToken]]) {
      const doc = new Y.Doc();
      const { WebsocketProvider } = await import('y-websocket');
      const { WebSocket } = await import('ws');
      const p = new WebsocketProvider(fx.server.url.replace('http', 'ws') + '/yjs', roomId, doc, { protocols: yjsProtocols(token), WebSocketPolyfill: WebSocket as never, disableBc: true });
      const closed = await new Promise<{ code: number }>((ok) => p.once('closed', (e: { code: number }) => ok(e)));
      expect(closed.code).toBe(4401);
      expect(p.synced).toBe(false);
      p.destroy();
    }
  });

  it('refuses an address that opens too many connections, Yjs (4429) and Socket.IO alike', async () => {
    // createRoom's Socket.IO connection and two Yjs connections use the budget of 3.
    await fx.restart({ limits: { connectionsPerMinute: 3 } });
    const room = await createRoom(fx.server.url);
    await yjs(room.roomId, room.editToken);
    await yjs(room.roomId, room.editToken);
    const { WebsocketProvider } = await import('y-websocket');
    const { WebSocket } = await import('ws');
    const p = new WebsocketProvider(fx.server.url.replace('http', 'ws') + '/yjs', room.roomId, new Y.Doc(), { protocols: yjsProtocols(room.editToken), WebSocketPolyfill: WebSocket as never, disableBc: true });
    const closed = await new Promise<{ code: number }>((ok) => p.once('closed', (e: { code: number }) => ok(e)));
    expect(closed.code).toBe(4429);
    p.destroy();
    const err = await connectSocket(fx.server.url).then(() => null, (e: { data?: { code?: string } }) => e);
    expect(err?.data?.code).toBe('rate-limited');
    await fx.restart();
  });

  it('shares presence through awareness and drops it when a peer leaves', async () => {
    const room = await createRoom(fx.server.url);
    const a = await yjs(room.roomId, room.editToken);
    const b = await yjs(room.roomId, room.viewToken);
    a.provider.awareness.setLocalStateField('user', { name: 'ann', color: '#ff0000' });
    a.provider.awareness.setLocalStateField('cursor', { x: 3, y: 4 });
    b.provider.awareness.setLocalStateField('user', { name: 'bob', color: '#00ff00' });
    await waitFor(() => [...b.provider.awareness.getStates().values()].some((s) => s.cursor?.x === 3), 'ann’s cursor at bob');
    await waitFor(() => [...a.provider.awareness.getStates().values()].some((s) => s.user?.name === 'bob'), 'bob (a watcher) at ann');
    a.provider.destroy();
    await waitFor(() => ![...b.provider.awareness.getStates().values()].some((s) => s.user?.name === 'ann'), 'ann gone at bob');
  });

  it('paces a flood of presence updates (the newest always lands); only its owner changes a peer’s presence', async () => {
    const room = await createRoom(fx.server.url);
    const a = await yjs(room.roomId, room.editToken);
    const b = await yjs(room.roomId, room.viewToken);
    const aId = a.doc.clientID;
    let relayed = 0;
    b.provider.awareness.on('change', ({ updated, added }: { updated: number[]; added: number[] }) => {
      if ([...updated, ...added].includes(aId)) relayed++;
    });
    const t0 = performance.now();
    for (let x = 0; x < 300; x++) a.provider.awareness.setLocalStateField('cursor', { x, y: 1 });
    await waitFor(() => b.provider.awareness.getStates().get(aId)?.cursor?.x === 299, 'ann’s last cursor at bob');
    const elapsed = performance.now() - t0;
    // 300 updates sent at once reach bob as a handful (one per 25 ms window), the last one included.
    expect(relayed).toBeLessThanOrEqual(Math.ceil(elapsed / 25) + 2);
    expect(relayed).toBeLessThan(50);

    // Carol announces presence under ann's client id (with a newer clock): it is dropped, ann's stays hers.
    const carol = await yjs(room.roomId, room.editToken);
    const spoof = new Y.Doc();
    spoof.clientID = aId;
    const fake = new awarenessProtocol.Awareness(spoof);
    fake.setLocalState({ cursor: { x: -1, y: -1 } });
    fake.meta.get(aId)!.clock = 1_000_000;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 1); // y-websocket's awareness message
    encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(fake, [aId]));
    carol.provider.ws!.send(encoding.toUint8Array(encoder));
    carol.provider.awareness.setLocalStateField('cursor', { x: 7, y: 7 });
    await waitFor(() => b.provider.awareness.getStates().get(carol.doc.clientID)?.cursor?.x === 7, 'carol’s own cursor at bob');
    expect(b.provider.awareness.getStates().get(aId)?.cursor?.x).toBe(299);
    // An oversized state closes its sender.
    const closed = new Promise<{ code: number; reason: string }>((ok) => carol.provider.once('closed', (e: { code: number; reason: string }) => ok(e)));
    carol.provider.awareness.setLocalStateField('note', 'x'.repeat(4000));
    expect(await closed).toMatchObject({ code: 4400, reason: expect.stringMatching(/2048 bytes/) });
  });

  it('restores points, mask, settings and image after a server restart', async () => {
    const room = await createRoom(fx.server.url);
    const a = await yjs(room.roomId, room.editToken);
    addPoint(a.doc, [6, 6], user('ann'));
    addPoint(a.doc, [12, 8], user('ann'));
    addMaskStroke(a.doc, { mode: 'flexible', radius: 5, points: [8, 8] });
    updateSettings(a.doc, { lr: 0.005 });
    const s1 = await connectSocket(fx.server.url);
    const before = await call<{ state: RoomState }>(s1, 'room:join', { token: room.editToken, user: user('ann') });
    s1.disconnect();
    const expected = JSON.stringify([readPoints(a.doc), readMask(a.doc), readSettings(a.doc)]);
    await new Promise((r) => setTimeout(r, 100));
    a.destroy();
    await fx.restart();
    const b = await yjs(room.roomId, room.viewToken);
    expect(JSON.stringify([readPoints(b.doc), readMask(b.doc), readSettings(b.doc)])).toBe(expected);
    const s2 = await connectSocket(fx.server.url);
    fx.onCleanup(() => s2.disconnect());
    const after = await call<{ state: RoomState }>(s2, 'room:join', { token: room.viewToken, user: user('bob') });
    expect(Buffer.from(after.state.image.bytes as ArrayBuffer).equals(Buffer.from(before.state.image.bytes as ArrayBuffer))).toBe(true);
  });
});
