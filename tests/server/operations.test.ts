/**
 * Operations through the real server: liveness and readiness (a real database and worker pool, broken for
 * real), security headers on every kind of response, the Yjs token kept out of URLs and logs, titles and
 * names cleaned, numeric route parameters bounded, and the connection limiter behind a trusted proxy.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket, type ClientOptions } from 'ws';
import { io as ioClient } from 'socket.io-client';
import type { RoomState, RunEnded } from '../../contract/events.js';
import { YJS_PATH } from '../../contract/events.js';
import { yjsProtocols, YJS_SUBPROTOCOL } from '../../contract/yjs-auth.js';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import { parseTrustedProxies } from '../../server/client-address.js';
import { ioRoom } from '../../server/realtime/types.js';
import type { StudioServer } from '../../server/studio-server.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, TINY_MODEL_ID, user, useServerFixture, waitFor, type ClientSocket } from './helpers.js';
import { getRequest, rawRequest, upgradeRequest } from './raw-http.js';

const getJson = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('health', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: StudioServer;
  beforeEach(async () => {
    tmp = tempDir();
    server = await startTestServer(`${tmp.dir}/studio.db`);
  });
  afterEach(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('live answers; ready (and /api/health) checks the database and the workers', async () => {
    expect(await getJson(server.url + '/api/health/live')).toEqual({ status: 200, body: { ok: true } });
    for (const path of ['/api/health', '/api/health/ready']) {
      const { status, body } = await getJson(server.url + path);
      expect(status).toBe(200);
      expect(body).toMatchObject({ ok: true, database: 'ok', workers: '1 of 1 live', failed: [] });
    }
  });

  it('is not ready (503, naming the database) while the database cannot answer its query', async () => {
    // Another connection to the same SQLite file takes the table the check reads away, then gives it back.
    const other = new Database(`${tmp.dir}/studio.db`);
    try {
      other.exec('ALTER TABLE "Room" RENAME TO "Room_away"');
      const { status, body } = await getJson(server.url + '/api/health/ready');
      expect(status).toBe(503);
      expect(body).toMatchObject({ ok: false, workers: '1 of 1 live', failed: ['database'] });
      expect(String(body.database)).toMatch(/^failed: .*Room/);
      // Liveness does not depend on it.
      expect((await getJson(server.url + '/api/health/live')).status).toBe(200);
    } finally {
      other.exec('ALTER TABLE "Room_away" RENAME TO "Room"');
      other.close();
    }
    expect((await getJson(server.url + '/api/health')).status).toBe(200);
  });

  it('is not ready (503, naming the workers) when no drag worker is alive', async () => {
    await server.jobs.close();
    const { status, body } = await getJson(server.url + '/api/health');
    expect(status).toBe(503);
    expect(body).toMatchObject({ ok: false, database: 'ok', failed: ['workers'] });
    expect(body.workers).toMatch(/^0 of/);
  });
});

describe('security headers', () => {
  const fx = useServerFixture();
  const expectSecurityHeaders = (h: Record<string, string | null | undefined>, what: string) => {
    expect(h['content-security-policy'], what).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(h['x-content-type-options'], what).toBe('nosniff');
    expect(h['referrer-policy'], what).toBe('no-referrer');
    expect(h['x-frame-options'], what).toBe('DENY');
  };

  it('are on the server routes, their 404s and 400s, and Socket.IO answers', async () => {
    const room = await createRoom(fx.server.url);
    for (const path of ['/api/health/live', '/api/health', `/api/rooms/${room.viewToken}/image`, '/api/rooms/nope/image', '/no-such-page', '/socket.io/?EIO=4&transport=polling']) {
      const res = await fetch(fx.server.url + path);
      await res.arrayBuffer();
      expectSecurityHeaders(Object.fromEntries(res.headers), path);
    }
    expectSecurityHeaders((await rawRequest(fx.server.url, getRequest('//x:y'))).headers, 'a bad target');
    expectSecurityHeaders((await rawRequest(fx.server.url, upgradeRequest('/yjs/%E0%A4%A'))).headers, 'a refused upgrade');
  });
});

describe('link tokens stay out of URLs and logs', () => {
  const fx = useServerFixture();

  it('a Yjs client gets in with the token as a subprotocol; the answer selects the fixed name, not the token', async () => {
    const room = await createRoom(fx.server.url);
    const y = await connectYjs(fx.server.url, room.roomId, room.editToken);
    y.destroy();
    const res = await rawRequest(fx.server.url, upgradeRequest(`${YJS_PATH}/${room.roomId}`, `Sec-WebSocket-Protocol: ${yjsProtocols(room.editToken).join(', ')}\r\n`), 1000);
    expect(res.status).toBe(101);
    expect(res.headers['sec-websocket-protocol']).toBe(YJS_SUBPROTOCOL);
    expect(res.text).not.toContain(room.editToken);
  });

  it('a token in the query string opens nothing (4401)', async () => {
    const room = await createRoom(fx.server.url);
    const p = new WebsocketProvider(fx.server.url.replace('http', 'ws') + YJS_PATH, room.roomId, new Y.Doc(), {
      params: { token: room.editToken },
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
    });
    const closed = await new Promise<{ code: number }>((ok) => p.once('closed', (e: { code: number }) => ok(e)));
    p.destroy();
    expect(closed.code).toBe(4401);
  });

  it('no log line carries a token, whatever fails', async () => {
    const lines: string[] = [];
    const originals = { log: console.log, warn: console.warn, error: console.error, info: console.info };
    for (const k of Object.keys(originals) as (keyof typeof originals)[]) console[k] = (...args: unknown[]) => void lines.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(' '));
    const room = await createRoom(fx.server.url);
    try {
      const s = await connectSocket(fx.server.url);
      await call(s, 'room:join', { token: room.editToken, user: user('ann') });
      const y = await connectYjs(fx.server.url, room.roomId, room.editToken);
      // A message Yjs cannot parse, a wrong room for the token, bad targets and unknown runs and steps carrying it.
      (y.provider.ws as unknown as { send(b: Uint8Array): void }).send(new Uint8Array([0, 9, 200, 200]));
      await rawRequest(fx.server.url, upgradeRequest(`${YJS_PATH}/other-room`, `Sec-WebSocket-Protocol: ${yjsProtocols(room.viewToken).join(', ')}\r\n`), 500);
      for (const path of [`/yjs/${room.editToken}%E0`, `/api/rooms/${room.editToken}/runs/x/steps/99999999999999999999/frame.png`, `/api/rooms/${room.viewToken}/nope`, `//${room.editToken}:x`]) {
        await rawRequest(fx.server.url, getRequest(path));
        await rawRequest(fx.server.url, upgradeRequest(path));
      }
      await waitFor(() => y.provider.wsconnected === false || lines.length > 0, 'the bad message to be handled', 2000).catch(() => undefined);
      y.destroy();
      s.disconnect();
    } finally {
      Object.assign(console, originals);
    }
    for (const line of lines) {
      expect(line).not.toContain(room.editToken);
      expect(line).not.toContain(room.viewToken);
    }
  });
});

describe('titles and names', () => {
  const fx = useServerFixture();

  it('are cut by grapheme, with bidi and zero-width controls removed, where the server accepts them', async () => {
    const s = await connectSocket(fx.server.url);
    try {
      const created = await call<{ roomId: string; editToken: string }>(s, 'room:create', { title: ` \u202Egnp.exe\u202C Room\u200B ${'👩‍💻'.repeat(10)}${'e\u0301'.repeat(60)}`, model: TINY_MODEL_ID, seed: 3 });
      const { state } = await call<{ state: RoomState }>(s, 'room:join', { token: created.editToken, user: { id: 'u1', name: `\u2066Ann\u2069\u200E${'é'.repeat(50)}`, color: '#3366ff' } });
      expect(state.room.title).toBe(`gnp.exe Room ${'👩‍💻'.repeat(10)}${'e\u0301'.repeat(57)}`);
      const [joined] = await fx.server.io.in(ioRoom(created.roomId)).fetchSockets();
      expect(joined.data.user?.name).toBe(`Ann${'é'.repeat(37)}`);
      // Nothing visible left: the fallback.
      await call(s, 'room:join', { token: created.editToken, user: { id: 'u1', name: '\u202E\u200B\uFEFF', color: '#3366ff' } });
      const [again] = await fx.server.io.in(ioRoom(created.roomId)).fetchSockets();
      expect(again.data.user?.name).toBe('Anonymous');
    } finally {
      s.disconnect();
    }
  });
});

describe('numeric route parameters', () => {
  const fx = useServerFixture();

  it('a step number past any stored step is a 404, never a 500; ?delay= of any kind is clamped', async () => {
    const room = await createRoom(fx.server.url, 5);
    const y = await connectYjs(fx.server.url, room.roomId, room.editToken);
    const s: ClientSocket = await connectSocket(fx.server.url);
    try {
      addPoint(y.doc, [10, 10], user('ann'));
      addPoint(y.doc, [16, 14], user('ann'));
      updateSettings(y.doc, { lr: 0.01, maxSteps: 2 });
      await new Promise((r) => setTimeout(r, 100));
      const ended: RunEnded[] = [];
      s.on('run:ended', (e) => ended.push(e));
      await call(s, 'room:join', { token: room.editToken, user: user('ann') });
      const { runId } = await call<{ runId: string }>(s, 'run:start');
      await waitFor(() => ended.length, 'the run to end', 60_000);
      const base = `${fx.server.url}/api/rooms/${room.viewToken}/runs/${runId}`;
      const status = async (path: string) => (await fetch(base + path)).status;
      expect(await status('/steps/0/frame.png')).toBe(200);
      for (const n of ['99999999999999999999', '2147483648', '9007199254740993', '00000000000000000000001', '1e3']) {
        expect(await status(`/steps/${n}/frame.png`), n).toBe(404);
        expect(await status(`/steps/${n}/latent`), n).toBe(404);
      }
      for (const d of ['99999999999999999999', '-5', 'abc', '1e999', 'Infinity', '', '0x10', '%00']) {
        const res = await fetch(`${base}/animation.webp?delay=${d}`);
        expect(res.status, d).toBe(200);
        await res.arrayBuffer();
      }
    } finally {
      y.destroy();
      s.disconnect();
    }
  });
});

describe('connection limiter behind a trusted proxy', () => {
  const fx = useServerFixture({ per: 'test' });

  const socketFrom = (forwardedFor: string) =>
    new Promise<{ ok: boolean; code?: string }>((resolve) => {
      const s = ioClient(fx.server.url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { 'x-forwarded-for': forwardedFor } });
      s.once('connect', () => {
        s.disconnect();
        resolve({ ok: true });
      });
      s.once('connect_error', (e: Error & { data?: { code?: string } }) => resolve({ ok: false, code: e.data?.code }));
    });

  const yjsFrom = (roomId: string, token: string, forwardedFor: string) =>
    new Promise<number | 'synced'>((resolve) => {
      class ForwardedWebSocket extends WebSocket {
        constructor(address: string, protocols?: string | string[], options?: ClientOptions) {
          super(address, protocols, { ...options, headers: { 'x-forwarded-for': forwardedFor } });
        }
      }
      const p = new WebsocketProvider(fx.server.url.replace('http', 'ws') + YJS_PATH, roomId, new Y.Doc(), { protocols: yjsProtocols(token), WebSocketPolyfill: ForwardedWebSocket as never, disableBc: true });
      p.once('sync', () => {
        p.destroy();
        resolve('synced');
      });
      p.once('closed', (e: { code: number }) => {
        p.destroy();
        resolve(e.code);
      });
    });

  it('counts each client behind the proxy by its X-Forwarded-For address, Socket.IO and Yjs alike', async () => {
    await fx.restart({ limits: { connectionsPerMinute: 3 }, trustedProxies: parseTrustedProxies('127.0.0.1/32, ::1') });
    // createRoom comes straight from 127.0.0.1 (the proxy itself, no header): its own budget.
    const room = await createRoom(fx.server.url);
    expect(await socketFrom('6.6.6.6, 198.51.100.1')).toEqual({ ok: true });
    expect(await yjsFrom(room.roomId, room.editToken, '198.51.100.1')).toBe('synced');
    expect(await socketFrom('198.51.100.1')).toEqual({ ok: true });
    // The fourth from 198.51.100.1, whatever it claims to the left of its own address.
    expect(await yjsFrom(room.roomId, room.editToken, '203.0.113.7, 198.51.100.1')).toBe(4429);
    expect(await socketFrom('198.51.100.1')).toEqual({ ok: false, code: 'rate-limited' });
    // Another client behind the same proxy is not affected.
    expect(await socketFrom('198.51.100.2')).toEqual({ ok: true });
    expect(await yjsFrom(room.roomId, room.editToken, '198.51.100.2')).toBe('synced');
  });

  it('ignores X-Forwarded-For when no proxy is trusted (anyone can send it)', async () => {
    await fx.restart({ limits: { connectionsPerMinute: 3 } });
    const room = await createRoom(fx.server.url);
    expect(await socketFrom('198.51.100.1')).toEqual({ ok: true });
    expect(await socketFrom('198.51.100.2')).toEqual({ ok: true });
    expect(await socketFrom('198.51.100.3')).toEqual({ ok: false, code: 'rate-limited' });
    expect(await yjsFrom(room.roomId, room.editToken, '198.51.100.4')).toBe(4429);
  });
});
