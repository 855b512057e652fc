/** Real parts for integration tests: a studio server on port 0, Socket.IO and Yjs clients, a temp SQLite file. */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import { startStudioServer, type StudioServer, type StudioServerOptions } from '../../server/studio-server.js';
import type { ClientToServerEvents, PublicUser, Result, ServerToClientEvents } from '../../contract/events.js';
import { YJS_PATH } from '../../contract/events.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';
import type { Database } from '../../server/db/database.js';
import { startPostgresCluster, type PostgresCluster } from '../../prisma/postgres-cluster.js';

export const TINY_MODEL = resolve(import.meta.dirname, '../fixtures/parity/model.safetensors');
export const TINY_MODEL_ID = 'tiny';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stabledrag-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every test client comes from 127.0.0.1: the per-address and per-connection limits are lifted unless a test sets them. */
export const UNLIMITED_FOR_TESTS: Partial<StudioServerOptions['limits']> = {
  connectionsPerMinute: 1e6, runsPerUser: 1000, runsPerAddress: 1000, stallSteps: 10_000,
  roomCreateBurst: 1e6, seedPreviewBurst: 1e6, socketMessageBurst: 1e6, socketMessagesPerSecond: 1e6,
  rendersWaiting: 1000, rendersWaitingPerCaller: 1000,
};

export async function startTestServer(dbFile: string, extra: Partial<StudioServerOptions> = {}): Promise<StudioServer> {
  return startStudioServer({
    port: 0,
    host: '127.0.0.1',
    dbFile,
    models: [{ id: TINY_MODEL_ID, label: 'Tiny 32 px (tests)', path: TINY_MODEL }],
    poolSize: 1,
    // Idle step-time measurement would put drags of its own between a test's jobs (models-stats.test.ts turns it on).
    measureStepTimes: false,
    yjs: { debounceMs: 50, maxDebounceMs: 200, unloadDelayMs: 200 },
    log: () => {},
    ...extra,
    // Tests open many connections from one address and one test user starts runs in many rooms, and
    // keep slow runs (lr 0.0001) going until they stop them; the limits have their own tests (collab,
    // run-faults, quotas).
    limits: { ...UNLIMITED_FOR_TESTS, ...extra.limits },
  });
}

export interface ServerFixture {
  /** The running server (started before each test or before the file's first, as asked). */
  readonly server: StudioServer;
  /** Closes the server and starts another on the same SQLite file: a restart, or new limits. */
  restart(extra?: Partial<StudioServerOptions>): Promise<StudioServer>;
  /** Runs at teardown, before the server closes (disconnect clients first). */
  onCleanup(...fns: (() => void)[]): void;
}

/**
 * STABLEDRAG_TEST_POSTGRES=1 runs the fixture's servers on PostgreSQL instead of their SQLite file (a
 * throwaway server per test process, a database per fixture set-up), so any suite written against
 * useServerFixture can be checked on both providers by hand; tests/server/postgres-*.test.ts always do.
 */
let postgres: Promise<PostgresCluster> | undefined;
let postgresDatabases = 0;
async function fixtureDatabase(): Promise<Database | undefined> {
  if (!process.env.STABLEDRAG_TEST_POSTGRES) return undefined;
  postgres ??= startPostgresCluster();
  return { provider: 'postgresql', url: await (await postgres).createDatabase(`fixture_${++postgresDatabases}`) };
}

/** After a describe block: a later one in the same file starts a fresh server. */
async function stopFixturePostgres(): Promise<void> {
  const running = postgres;
  postgres = undefined;
  (await running)?.stop();
}

/** A real server on port 0 with its own SQLite file (or PostgreSQL database) for a describe block, torn down with its clients. */
export function useServerFixture(opts: { per?: 'test' | 'file' } = {}): ServerFixture {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let server: StudioServer | undefined;
  let database: Database | undefined;
  const cleanups: (() => void)[] = [];
  const fixture: ServerFixture = {
    get server() {
      if (!server) throw new Error('the fixture server is not running (used outside a test?)');
      return server;
    },
    async restart(extra = {}) {
      await server?.close();
      server = await startTestServer(`${tmp!.dir}/studio.db`, { database, ...extra });
      return server;
    },
    onCleanup: (...fns) => void cleanups.push(...fns),
  };
  const setUp = async () => {
    tmp = tempDir();
    database = await fixtureDatabase();
    server = await startTestServer(`${tmp.dir}/studio.db`, { database });
  };
  const tearDown = async () => {
    for (const c of cleanups.splice(0)) c();
    await server?.close();
    server = undefined;
    tmp?.cleanup();
  };
  if (opts.per === 'test') {
    beforeEach(setUp);
    afterEach(tearDown);
  } else {
    beforeAll(setUp);
    afterAll(tearDown);
  }
  if (process.env.STABLEDRAG_TEST_POSTGRES) afterAll(stopFixturePostgres);
  return fixture;
}

export async function connectSocket(url: string): Promise<ClientSocket> {
  const socket: ClientSocket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((ok, fail) => {
    socket.once('connect', ok);
    socket.once('connect_error', fail);
  });
  return socket;
}

/** Emits with an ack and unwraps the Result, failing the test on an error result. */
export async function call<T>(socket: ClientSocket, event: keyof ClientToServerEvents, ...args: unknown[]): Promise<T> {
  const res = (await (socket as unknown as { emitWithAck: (e: string, ...a: unknown[]) => Promise<Result<T>> }).emitWithAck(event, ...args));
  if (!res.ok) throw Object.assign(new Error(`${event}: ${res.error.code}: ${res.error.message}`), { code: res.error.code });
  return res as T;
}

export function user(name: string): PublicUser {
  return { id: `user-${name}`, name, color: '#3366ff' };
}

export interface YClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  destroy(): void;
}

export async function connectYjs(url: string, roomId: string, token: string): Promise<YClient> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(url.replace(/^http/, 'ws') + YJS_PATH, roomId, doc, {
    protocols: yjsProtocols(token),
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  });
  await new Promise<void>((ok) => (provider.synced ? ok() : provider.once('sync', (s: boolean) => s && ok())));
  return {
    doc,
    provider,
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Polls until `check` returns a truthy value (Yjs and Socket.IO deliver asynchronously). */
export async function waitFor<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function createRoom(url: string, seed = 3): Promise<{ roomId: string; editToken: string; viewToken: string }> {
  const s = await connectSocket(url);
  try {
    return await call(s, 'room:create', { title: 'Test room', model: TINY_MODEL_ID, seed });
  } finally {
    s.disconnect();
  }
}

/**
 * A raw websocket to a room's document (no Yjs client behind it), for tests that speak the protocol byte by
 * byte; resolves once open. Records what arrives and how it closed.
 */
export async function rawYjsClient(url: string, roomId: string, token: string) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${YJS_PATH}/${roomId}`, yjsProtocols(token));
  const received: Uint8Array[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.on('message', (data: Buffer) => received.push(new Uint8Array(data)));
  ws.on('close', (code, reason) => (closed = { code, reason: reason.toString() }));
  ws.on('error', () => {});
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('error', fail);
  });
  return { ws, received, closed: () => closed };
}

/** Resolves with the first close the server sends this provider: a terminal 44xx ('closed') or any other code. */
export function nextClose(p: WebsocketProvider): Promise<{ code: number; reason: string }> {
  return new Promise((ok) => {
    p.once('closed', (e: { code: number; reason: string }) => ok(e));
    p.once('connection-close', (e: { code: number; reason: string } | null) => {
      if (e && !(e.code >= 4400 && e.code < 4500)) ok({ code: e.code, reason: e.reason });
    });
  });
}

/** Connects Yjs clients to the fixture's server, destroyed at its teardown. */
export function fixtureYjs(fx: ServerFixture): (roomId: string, token: string) => Promise<YClient> {
  return async (roomId, token) => {
    const c = await connectYjs(fx.server.url, roomId, token);
    fx.onCleanup(c.destroy);
    return c;
  };
}
