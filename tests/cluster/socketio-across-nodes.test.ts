/**
 * Socket.IO across two web nodes (real Redis, real PostgreSQL, two nodes in this process): a room broadcast
 * made on one node reaches the room's sockets on the other (the Redis streams adapter). Link rotation: an editor on
 * node A replaces the watch link, and a holder of it on node B is put out at once on Socket.IO
 * (`room:revoked`) and on Yjs (close 4403); a watcher whose connection had dropped and whose session
 * recovers on node A after the rotation (the Redis streams adapter keeps sessions in Redis) is told it was
 * put out and is not back in the room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as ioClient } from 'socket.io-client';
import { Redis } from 'ioredis';
import { REVOKED_WHILE_AWAY } from '../../server/realtime/recovered-session.js';
import { ioRoom } from '../../server/realtime/types.js';
import { call, connectSocket, connectYjs, createRoom, nextClose, user, waitFor, type ClientSocket, type YClient } from '../server/helpers.js';
import { startClusterHarness, type ClusterHarness, type InProcessNode } from './cluster-harness.js';

describe('Socket.IO across two web nodes', () => {
  let h: ClusterHarness;
  let a: InProcessNode;
  let b: InProcessNode;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    h = await startClusterHarness();
    a = await h.startNode('a');
    b = await h.startNode('b');
  }, 120_000);
  afterAll(async () => {
    cleanups.forEach((fn) => fn());
    await h?.stop();
  }, 60_000);

  const socketOn = async (url: string) => {
    const s = await connectSocket(url);
    cleanups.push(() => s.disconnect());
    return s;
  };
  const yjsOn = async (url: string, roomId: string, token: string): Promise<YClient> => {
    const c = await connectYjs(url, roomId, token);
    cleanups.push(c.destroy);
    return c;
  };

  it("a room broadcast on one node reaches the room's sockets on the other, and only them", async () => {
    const room = await createRoom(a.url);
    const other = await createRoom(a.url);
    const onA = await socketOn(a.url);
    const onB = await socketOn(b.url);
    const elsewhere = await socketOn(b.url);
    await call(onA, 'room:join', { token: room.viewToken, user: user('a') });
    await call(onB, 'room:join', { token: room.viewToken, user: user('b') });
    await call(elsewhere, 'room:join', { token: other.viewToken, user: user('c') });
    const got: string[] = [];
    for (const [name, s] of [['a', onA], ['b', onB], ['elsewhere', elsewhere]] as const) s.on('history:changed', ({ roomId }) => got.push(`${name}:${roomId}`));
    a.server.io.to(ioRoom(room.roomId)).emit('history:changed', { roomId: room.roomId });
    await waitFor(() => got.length >= 2, 'the broadcast on both nodes');
    // A later broadcast to the other room shows that the first one has been delivered everywhere it would go.
    b.server.io.to(ioRoom(other.roomId)).emit('history:changed', { roomId: other.roomId });
    await waitFor(() => got.includes(`elsewhere:${other.roomId}`), 'the second broadcast');
    expect(got.sort()).toEqual([`a:${room.roomId}`, `b:${room.roomId}`, `elsewhere:${other.roomId}`].sort());
  }, 60_000);

  it('a rotation on node A puts out the holders of the old link on node B (Socket.IO and Yjs)', async () => {
    const room = await createRoom(a.url);
    const editor = await socketOn(a.url);
    await call(editor, 'room:join', { token: room.editToken, user: user('ed') });
    const watcher = await socketOn(b.url);
    await call(watcher, 'room:join', { token: room.viewToken, user: user('wat') });
    const watcherYjs = await yjsOn(b.url, room.roomId, room.viewToken);
    const editorYjs = await yjsOn(b.url, room.roomId, room.editToken);
    const revoked = new Promise<{ roomId: string; reason: string }>((ok) => watcher.once('room:revoked', ok));
    const closed = nextClose(watcherYjs.provider);

    const links = await call<{ editToken: string; viewToken: string }>(editor, 'room:rotate-links', { which: 'view' });
    expect(links.viewToken).not.toBe(room.viewToken);
    expect((await revoked).roomId).toBe(room.roomId);
    expect((await closed).code).toBe(4403);
    // Out of the room on node B, and the old link opens nothing on either node.
    await waitFor(() => !b.server.io.sockets.adapter.rooms.get(ioRoom(room.roomId))?.has(watcher.id!), 'the watcher to leave the room on B');
    const retry = await socketOn(b.url);
    await expect(call(retry, 'room:join', { token: room.viewToken, user: user('wat') })).rejects.toThrow(/unauthorized/);
    // The editor's Yjs connection on node B carries on.
    expect(editorYjs.provider.wsconnected).toBe(true);
  }, 60_000);

  it('a session that recovers on node A after the rotation is put out there', async () => {
    const room = await createRoom(a.url);
    const editor = await socketOn(a.url);
    await call(editor, 'room:join', { token: room.editToken, user: user('ed') });
    // Reconnects by hand (below), to the other node, with its session id and last offset.
    const watcher: ClientSocket = ioClient(b.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    cleanups.push(() => watcher.disconnect());
    await new Promise<void>((ok, fail) => {
      watcher.once('connect', ok);
      watcher.once('connect_error', fail);
    });
    await call(watcher, 'room:join', { token: room.viewToken, user: user('wat') });
    // A session recovers from the last broadcast it received: one room broadcast gives it that offset.
    const got = new Promise((ok) => watcher.once('history:changed', ok));
    b.server.io.to(ioRoom(room.roomId)).emit('history:changed', { roomId: room.roomId });
    await got;

    // The connection drops (not a disconnect: the session is kept in Redis for recovery).
    const redis = new Redis(h.redis.url);
    cleanups.push(() => redis.disconnect());
    const dropped = new Promise((ok) => watcher.once('disconnect', ok));
    watcher.io.engine.close();
    await dropped;
    let sessions: string[] = [];
    for (let i = 0; i < 200 && sessions.length === 0; i++) {
      sessions = await redis.keys(`${h.prefix}:socket.io-session:*`);
      if (sessions.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(sessions.length).toBeGreaterThan(0);

    await call(editor, 'room:rotate-links', { which: 'view' });
    const revoked = new Promise<{ roomId: string; reason: string }>((ok) => watcher.once('room:revoked', ok));
    (watcher.io as unknown as { uri: string }).uri = a.url;
    watcher.connect();
    const info = await revoked;
    expect(watcher.recovered).toBe(true);
    expect(info).toEqual({ roomId: room.roomId, reason: REVOKED_WHILE_AWAY });
    await waitFor(() => !a.server.io.sockets.adapter.rooms.get(ioRoom(room.roomId))?.has(watcher.id!), 'the recovered watcher out of the room on A');
  }, 60_000);
});
