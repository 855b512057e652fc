/**
 * No request can end the process: malformed request targets on the websocket upgrade path and on plain
 * HTTP, sent over raw sockets, get a 400 with a message, and afterwards the same server still serves a
 * normal Socket.IO and Yjs client. A worker that sends a malformed message is logged, not fatal.
 */
import { describe, expect, it } from 'vitest';
import { addPoint, readPoints } from '../../contract/room-doc.js';
import { call, connectSocket, connectYjs, createRoom, user, useServerFixture, waitFor } from './helpers.js';
import { getRequest, rawRequest, upgradeRequest } from './raw-http.js';

/** Targets that URL parsing or percent-decoding throws on, or that are merely absurd. */
const BAD_TARGETS = [
  '/yjs/%E0%A4%A',
  '/yjs/%',
  '/yjs/%%%%',
  '/yjs/%FF%FE%FD',
  '/yjs/%C0%80',
  `/yjs/${'%E0%A4%A'.repeat(500)}`,
  '/yjs/%ED%A0%80', // a lone surrogate, encoded
  '//x:y',
  '//x:99999999/yjs/room',
  'http://[::1',
  'http://[::1]:bad/yjs/room',
  '/yjs',
  '/yjs/',
  '/socket.io/?EIO=4&transport=websocket&sid=%E0%A4%A',
  '/socket.io/%E0%A4%A?EIO=%',
];

describe('malformed request targets', () => {
  const fx = useServerFixture();

  /** A room, a Socket.IO client that joins it and two Yjs clients that see each other's edit. */
  async function normalClientsWork(): Promise<void> {
    const room = await createRoom(fx.server.url);
    const s = await connectSocket(fx.server.url);
    const a = await connectYjs(fx.server.url, room.roomId, room.editToken);
    const b = await connectYjs(fx.server.url, room.roomId, room.viewToken);
    try {
      await call(s, 'room:join', { token: room.editToken, user: user('ann') });
      addPoint(a.doc, [4, 4], user('ann'));
      await waitFor(() => readPoints(b.doc).length === 1, 'the edit to reach the other client');
    } finally {
      a.destroy();
      b.destroy();
      s.disconnect();
    }
  }

  it.each(BAD_TARGETS)('websocket upgrade to %s: a 400 written on the socket, then closed; the server goes on', async (target) => {
    const res = await rawRequest(fx.server.url, upgradeRequest(target));
    expect(res.status, res.text.slice(0, 200)).toBe(400);
    expect(res.closed).toBe(true);
    expect(res.text).toMatch(/bad (request target|document name)|Bad Request/);
  });

  it.each(BAD_TARGETS)('plain GET %s: a 400 (or a 404 for a path that parses), never a crash or a 500', async (target) => {
    const res = await rawRequest(fx.server.url, getRequest(target));
    expect([400, 404], res.text.slice(0, 200)).toContain(res.status);
  });

  it('a target that cannot be parsed is a 400 that says so', async () => {
    const res = await rawRequest(fx.server.url, getRequest('//x:y'));
    expect(res.status).toBe(400);
    expect(res.text).toContain('bad request target');
  });

  it('an upgrade that is neither Yjs nor Socket.IO is refused with a status, not just dropped', async () => {
    const res = await rawRequest(fx.server.url, upgradeRequest('/elsewhere'));
    expect(res.status).toBe(404);
  });

  it('a client that resets its upgrade socket mid-handshake ends nothing', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(fx.server.url);
    for (let i = 0; i < 5; i++) {
      const s = connect(Number(port), '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((ok) => s.once('connect', ok));
      s.write(upgradeRequest('/yjs/%E0%A4%A').slice(0, 60 + i * 20));
      s.resetAndDestroy();
    }
    await normalClientsWork();
  });

  it('after all of them the process is up and normal clients still work', async () => {
    for (const target of BAD_TARGETS) {
      await rawRequest(fx.server.url, upgradeRequest(target));
      await rawRequest(fx.server.url, getRequest(target));
    }
    await normalClientsWork();
  });
});

describe('worker messages', () => {
  const fx = useServerFixture();

  it('a malformed message from a worker is logged and ignored; the pool goes on rendering', async () => {
    const threads = (fx.server.jobs as unknown as { threads(): readonly import('node:worker_threads').Worker[] }).threads();
    // Delivered the way the thread's own postMessage would be: through the Worker's 'message' event.
    for (const garbage of [null, 42, 'x', {}, { type: 'step' }, { type: 'end', jobId: 1 }, { type: 'rendered', jobId: 'a', result: {} }, { type: 'nope', jobId: 1, end: {} }]) {
      threads[0].emit('message', garbage);
    }
    const room = await createRoom(fx.server.url, 5);
    expect(room.roomId).toBeTruthy();
  });
});
