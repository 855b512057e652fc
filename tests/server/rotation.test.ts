/**
 * Link rotation: an editor replaces the watch link or both links; holders of a replaced link are put out at
 * once on Socket.IO (`room:revoked`) and Yjs (close 4403) and cannot come back with it; the others, and the
 * editor who rotated, carry on.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import { addPoint, readPoints } from '../../contract/room-doc.js';
import { YJS_PATH } from '../../contract/events.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';
import { call, connectSocket, connectYjs, createRoom, user, useServerFixture, waitFor, type ClientSocket, type YClient } from './helpers.js';

interface Holder {
  socket: ClientSocket;
  y: YClient;
  revoked: string[];
  closed: { code: number; reason: string }[];
}

describe('link rotation', () => {
  const fx = useServerFixture({ per: 'file' });

  async function holder(roomId: string, token: string, name: string): Promise<Holder> {
    const socket = await connectSocket(fx.server.url);
    const y = await connectYjs(fx.server.url, roomId, token);
    fx.onCleanup(() => socket.disconnect(), y.destroy);
    const h: Holder = { socket, y, revoked: [], closed: [] };
    socket.on('room:revoked', (e) => h.revoked.push(e.reason));
    y.provider.on('closed', (e: { code: number; reason: string }) => h.closed.push(e));
    await call(socket, 'room:join', { token, user: user(name) });
    return h;
  }

  /** Whether a fresh Yjs connection with this token is refused (4401) rather than synced. */
  async function yjsRefused(roomId: string, token: string): Promise<number> {
    const p = new WebsocketProvider(fx.server.url.replace('http', 'ws') + YJS_PATH, roomId, new Y.Doc(), { protocols: yjsProtocols(token), WebSocketPolyfill: WebSocket as never, disableBc: true });
    const code = await new Promise<number>((ok) => p.once('closed', (e: { code: number }) => ok(e.code)));
    p.destroy();
    return code;
  }

  it('replacing the watch link puts its holders out; editors carry on', async () => {
    const room = await createRoom(fx.server.url);
    const ann = await holder(room.roomId, room.editToken, 'ann');
    const bob = await holder(room.roomId, room.editToken, 'bob');
    const wes = await holder(room.roomId, room.viewToken, 'wes');
    await expect(call(wes.socket, 'room:rotate-links', { which: 'view' })).rejects.toMatchObject({ code: 'forbidden' });

    const links = await call<{ editToken: string; viewToken: string }>(ann.socket, 'room:rotate-links', { which: 'view' });
    expect(links.editToken).toBe(room.editToken);
    expect(links.viewToken).not.toBe(room.viewToken);
    await waitFor(() => wes.revoked.length && wes.closed.length, 'the watcher to be put out');
    expect(wes.closed[0]).toMatchObject({ code: 4403, reason: 'link revoked' });
    // Out of the room: room requests fail, and the old link no longer opens it on either transport.
    await expect(call(wes.socket, 'history:list')).rejects.toMatchObject({ code: 'invalid' });
    await expect(call(wes.socket, 'room:join', { token: room.viewToken, user: user('wes') })).rejects.toMatchObject({ code: 'unauthorized' });
    expect(await yjsRefused(room.roomId, room.viewToken)).toBe(4401);
    // Editors were not touched and still edit together.
    expect(ann.revoked.length + bob.revoked.length + ann.closed.length + bob.closed.length).toBe(0);
    addPoint(ann.y.doc, [5, 5], user('ann'));
    await waitFor(() => readPoints(bob.y.doc).length === 1, 'bob to see ann’s point');
    // The new watch link works.
    const wes2 = await holder(room.roomId, links.viewToken, 'wes');
    expect(readPoints(wes2.y.doc)).toHaveLength(1);
  });

  it('replacing both links puts out every other holder; the editor who rotated stays', async () => {
    const room = await createRoom(fx.server.url);
    const ann = await holder(room.roomId, room.editToken, 'ann');
    const bob = await holder(room.roomId, room.editToken, 'bob');
    const wes = await holder(room.roomId, room.viewToken, 'wes');
    const links = await call<{ editToken: string; viewToken: string }>(ann.socket, 'room:rotate-links', { which: 'both' });
    expect(links.editToken).not.toBe(room.editToken);
    await waitFor(() => bob.revoked.length && wes.revoked.length, 'bob and wes to be put out');
    expect(ann.revoked).toEqual([]);
    // Ann's socket stays in the room as an editor; her Yjs connection used the old link, so it is closed and
    // the app reopens it with the new link (the page moves to the new address).
    expect(await call<{ runs: unknown[] }>(ann.socket, 'history:list')).toMatchObject({ runs: [] });
    await expect(call(ann.socket, 'run:start')).rejects.toMatchObject({ code: 'no-points' });
    const annY = await connectYjs(fx.server.url, room.roomId, links.editToken);
    fx.onCleanup(annY.destroy);
    addPoint(annY.doc, [3, 3], user('ann'));
    expect(await yjsRefused(room.roomId, room.editToken)).toBe(4401);
    const found = await call<{ rooms: unknown[] }>(ann.socket, 'rooms:describe', { tokens: [room.editToken, room.viewToken, links.editToken, links.viewToken] });
    expect(found.rooms).toHaveLength(2);
  });

  it('a join whose token check overlaps a rotation is refused, not let in with the replaced link', async () => {
    const room = await createRoom(fx.server.url);
    const ann = await holder(room.roomId, room.editToken, 'ann');
    const socket = await connectSocket(fx.server.url);
    fx.onCleanup(() => socket.disconnect());
    // Hold the watcher's token check after it has read the (still valid) link, as a slow database would.
    const store = fx.server.store;
    const findByToken = store.findByToken.bind(store);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reads = 0;
    store.findByToken = async (token: string) => {
      const found = await findByToken(token);
      if (token === room.viewToken && reads++ === 0) await held;
      return found;
    };
    try {
      const join = call(socket, 'room:join', { token: room.viewToken, user: user('wes') });
      await waitFor(() => reads === 1, 'the join to read the token');
      await call(ann.socket, 'room:rotate-links', { which: 'view' });
      release();
      await expect(join).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(call(socket, 'history:list')).rejects.toMatchObject({ code: 'invalid' });
    } finally {
      store.findByToken = findByToken;
    }
  });
});
