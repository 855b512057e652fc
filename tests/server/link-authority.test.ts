/**
 * Link rotation is authoritative: a socket that drops and comes back through Socket.IO's connection-state
 * recovery is checked against the store again (a link replaced while it was away no longer opens the room,
 * and the broadcasts it missed meanwhile are not replayed to it), and history:list shows the fork tree without
 * handing out links, so a watcher put out cannot walk back in through a parent or a fork.
 */
import { describe, expect, it } from 'vitest';
import { io as ioClient } from 'socket.io-client';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { RoomLineage, RunEnded } from '../../contract/events.js';
import { ioRoom } from '../../server/realtime/types.js';
import Database from 'better-sqlite3';
import type { StudioServer } from '../../server/studio-server.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, user, useServerFixture, waitFor, type ClientSocket } from './helpers.js';

interface Away {
  socket: ClientSocket;
  revoked: string[];
  /** Room broadcasts received, by event name. */
  heard: string[];
}

describe('link authority', () => {
  const fx = useServerFixture({ per: 'file' });

  /** A client joined with `token` that reconnects when told to (the app's reconnects by itself, after a backoff). */
  async function recoveringClient(token: string, name: string, server: StudioServer = fx.server): Promise<Away> {
    const socket: ClientSocket = ioClient(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    fx.onCleanup(() => socket.disconnect());
    await new Promise<void>((ok) => socket.once('connect', ok));
    const a: Away = { socket, revoked: [], heard: [] };
    socket.on('room:revoked', (e) => a.revoked.push(e.reason));
    socket.on('history:changed', () => a.heard.push('history:changed'));
    socket.on('run:queue', () => a.heard.push('run:queue'));
    const { state } = await call<{ state: { room: { roomId: string } } }>(socket, 'room:join', { token, user: user(name) });
    // Recovery resumes from the last room broadcast a client heard: give it one.
    server.io.to(ioRoom(state.room.roomId)).emit('history:changed', { roomId: state.room.roomId });
    await waitFor(() => a.heard.length === 1, 'the first broadcast');
    return a;
  }

  /** Drops the client's transport (a network blip) and resolves once the server has seen it go. */
  async function drop(a: Away, server: StudioServer = fx.server): Promise<void> {
    const id = a.socket.id!;
    (a.socket.io.engine as unknown as { close(): void }).close();
    await waitFor(() => !server.io.sockets.sockets.has(id), 'the server to see the drop');
  }

  const reconnected = (a: Away) => {
    a.socket.connect();
    return waitFor(() => a.socket.connected, 'the client to reconnect');
  };

  it('a recovered session whose link was not replaced carries on, with the broadcasts it missed', async () => {
    const room = await createRoom(fx.server.url);
    const wes = await recoveringClient(room.viewToken, 'wes');
    await drop(wes);
    fx.server.io.to(ioRoom(room.roomId)).emit('history:changed', { roomId: room.roomId });
    await reconnected(wes);
    expect(wes.socket.recovered).toBe(true);
    await waitFor(() => wes.heard.length === 2, 'the missed broadcast');
    expect(await call<{ runs: unknown[] }>(wes.socket, 'history:list')).toMatchObject({ runs: [] });
    expect(wes.revoked).toEqual([]);
  });

  it('a link replaced while its holder was disconnected does not come back with the recovered session', async () => {
    const room = await createRoom(fx.server.url);
    const ann = await connectSocket(fx.server.url);
    fx.onCleanup(() => ann.disconnect());
    await call(ann, 'room:join', { token: room.editToken, user: user('ann') });
    const wes = await recoveringClient(room.viewToken, 'wes');
    await drop(wes);
    await call(ann, 'room:rotate-links', { which: 'view' });
    // Something happens in the room while wes is away.
    const y = await connectYjs(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, [4, 4], user('ann'));
    addPoint(y.doc, [8, 8], user('ann'));
    updateSettings(y.doc, { maxSteps: 2 });
    await new Promise((r) => setTimeout(r, 100));
    const ended: RunEnded[] = [];
    ann.on('run:ended', (e) => ended.push(e));
    await call(ann, 'run:start');
    await waitFor(() => ended.length, 'the run to end', 60_000);

    await reconnected(wes);
    expect(wes.socket.recovered).toBe(true);
    await waitFor(() => wes.revoked.length, 'wes to be told the link was replaced');
    await expect(call(wes.socket, 'history:list')).rejects.toMatchObject({ code: 'invalid' });
    await expect(call(wes.socket, 'run:stop')).rejects.toMatchObject({ code: 'invalid' });
    // Nothing of what happened in the room after the rotation reached wes.
    expect(wes.heard).toEqual(['history:changed']);
  });

  it('a recovered session is checked against the store, whoever replaced the link', async () => {
    // A rotation made elsewhere (another server node, an admin tool) leaves this node's sockets alone:
    // only the check at recovery stands between the old link and the room.
    const room = await createRoom(fx.server.url);
    const wes = await recoveringClient(room.viewToken, 'wes');
    const bea = await recoveringClient(room.editToken, 'bea');
    await drop(wes);
    await drop(bea);
    await fx.server.store.rotateTokens(room.roomId, 'view');
    // Hold the check's read, as a slow database would: a request sent meanwhile waits for the check.
    const store = fx.server.store;
    const findByToken = store.findByToken.bind(store);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    store.findByToken = async (token: string) => (await held, findByToken(token));
    let early: Promise<unknown>;
    try {
      await Promise.all([reconnected(wes), reconnected(bea)]);
      early = call(wes.socket, 'history:list');
      early.catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      store.findByToken = findByToken;
      release();
    }
    await expect(early).rejects.toMatchObject({ code: 'invalid' });
    expect([wes.socket.recovered, bea.socket.recovered]).toEqual([true, true]);
    await waitFor(() => wes.revoked.length, 'wes to be put out');
    await expect(call(wes.socket, 'history:list')).rejects.toMatchObject({ code: 'invalid' });
    // The editor's link was not replaced: she stays.
    expect(await call<{ runs: unknown[] }>(bea.socket, 'history:list')).toMatchObject({ runs: [] });
    expect(bea.revoked).toEqual([]);
  });

  it('a role change while away counts as a replaced link', async () => {
    const tmp = tempDir();
    const server = await startTestServer(`${tmp.dir}/studio.db`);
    fx.onCleanup(() => void server.close().then(tmp.cleanup));
    const room = await createRoom(server.url);
    const wes = await recoveringClient(room.viewToken, 'wes', server);
    await drop(wes, server);
    // Another writer to the database (a second node, an admin tool) makes the watch link an edit link.
    const db = new Database(`${tmp.dir}/studio.db`);
    db.prepare('UPDATE Room SET editToken = viewToken, viewToken = ? WHERE id = ?').run('x'.repeat(24), room.roomId);
    db.close();
    expect((await server.store.findByToken(room.viewToken))?.role).toBe('edit');
    await reconnected(wes);
    expect(wes.socket.recovered).toBe(true);
    await waitFor(() => wes.revoked.length, 'wes to be put out');
    await expect(call(wes.socket, 'history:list')).rejects.toMatchObject({ code: 'invalid' });
  });

  it('history:list shows the fork tree with ids and titles, never a link', async () => {
    const room = await createRoom(fx.server.url);
    const y = await connectYjs(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, [4, 4], user('ann'));
    addPoint(y.doc, [8, 8], user('ann'));
    updateSettings(y.doc, { maxSteps: 3 });
    await new Promise((r) => setTimeout(r, 100));
    const ann = await connectSocket(fx.server.url);
    const wes = await connectSocket(fx.server.url);
    fx.onCleanup(() => ann.disconnect(), () => wes.disconnect());
    const ended: RunEnded[] = [];
    ann.on('run:ended', (e) => ended.push(e));
    await call(ann, 'room:join', { token: room.editToken, user: user('ann') });
    await call(wes, 'room:join', { token: room.viewToken, user: user('wes') });
    const { runId } = await call<{ runId: string }>(ann, 'run:start');
    await waitFor(() => ended.length, 'the run to end', 60_000);
    // The fork's links go to the one who forked, in the fork's answer.
    const fork = await call<{ roomId: string; editToken: string; viewToken: string }>(ann, 'history:fork', { runId, step: 1 });

    const seen = await call<{ lineage: RoomLineage }>(wes, 'history:list');
    expect(seen.lineage.forks).toEqual([{ roomId: fork.roomId, title: expect.stringContaining('fork'), runId, step: 1 }]);
    const inFork = await connectSocket(fx.server.url);
    fx.onCleanup(() => inFork.disconnect());
    await call(inFork, 'room:join', { token: fork.viewToken, user: user('zed') });
    const fromFork = await call<{ lineage: RoomLineage }>(inFork, 'history:list');
    expect(fromFork.lineage.parent).toEqual({ roomId: room.roomId, title: 'Test room', runId, step: 1 });
    const text = JSON.stringify([seen, fromFork]);
    for (const token of [room.editToken, room.viewToken, fork.editToken, fork.viewToken]) expect(text).not.toContain(token);

    // Put out by a rotation, the watcher holds no link to anything in the tree.
    await call(ann, 'room:rotate-links', { which: 'view' });
    const found = await call<{ rooms: unknown[] }>(wes, 'rooms:describe', { tokens: [room.viewToken] });
    expect(found.rooms).toEqual([]);
  });
});
