/**
 * Quotas and fairness through the whole stack: per-address quotas on room creation and seed previews, the
 * preview cache, the bounded render queue served round-robin by caller with its `busy` answer, the global cap
 * on waiting runs, and the per-connection Socket.IO message rate limit. Each refusal is a clear error that
 * says when to try again, and nothing is lost for anyone else.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { io as ioClient } from 'socket.io-client';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { ErrorInfo, Result, RunFrame } from '../../contract/events.js';
import type { StudioServer, StudioServerOptions } from '../../server/studio-server.js';
import { WorkerPool } from '../../server/jobs/worker-pool.js';
import type { RenderJob, RenderResult } from '../../server/jobs/worker-protocol.js';
import type { RenderOptions } from '../../server/jobs/job-queue.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, TINY_MODEL, TINY_MODEL_ID, user, waitFor, type ClientSocket } from './helpers.js';

type Raw = { emitWithAck(e: string, ...a: unknown[]): Promise<Result<unknown>>; emit(e: string, ...a: unknown[]): void };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The real worker pool, counting the renders asked of it. */
class CountingPool extends WorkerPool {
  renders: (RenderJob & RenderOptions)[] = [];
  override render(job: RenderJob, opts: RenderOptions = {}): Promise<RenderResult> {
    this.renders.push({ ...job, ...opts });
    return super.render(job, opts);
  }
}

async function serverWith(extra: Partial<StudioServerOptions>): Promise<StudioServer> {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const server = await startTestServer(`${tmp.dir}/studio.db`, extra);
  cleanups.push(() => server.close());
  return server;
}

/** A Socket.IO client, from another loopback address when given one (the server then sees another caller). */
async function client(server: StudioServer, localAddress?: string): Promise<ClientSocket> {
  let s: ClientSocket;
  if (!localAddress) s = await connectSocket(server.url);
  else {
    s = ioClient(server.url, { transports: ['websocket'], reconnection: false, forceNew: true, localAddress } as never);
    await new Promise<void>((ok, fail) => (s.once('connect', ok), s.once('connect_error', fail)));
  }
  cleanups.push(() => s.disconnect());
  return s;
}

const errorOf = (r: Result<unknown>) => (r.ok ? null : (r as { error: ErrorInfo }).error);

describe('per-address quotas', () => {
  it('room creation: a burst, then refused with the time to wait; nothing is created, other requests work', async () => {
    const server = await serverWith({ limits: { roomCreateBurst: 2, roomCreatesPerMinute: 1 } });
    const a = await client(server);
    const b = await client(server); // same address: shares the quota
    await call(a, 'room:create', { title: 'one', model: TINY_MODEL_ID, seed: 1 });
    await call(b, 'room:create', { title: 'two', model: TINY_MODEL_ID, seed: 2 });
    const refused = errorOf(await (a as unknown as Raw).emitWithAck('room:create', { title: 'three', model: TINY_MODEL_ID, seed: 3 }));
    expect(refused).toMatchObject({ code: 'limit', message: expect.stringMatching(/too many new rooms .* try again in \d+ s/) });
    // One room a minute: the next is about a minute away (less the time the two renders took).
    expect(refused!.retryAfterSeconds).toBeGreaterThan(30);
    expect(refused!.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect((await server.store.listRecent(10)).map((r) => r.title).sort()).toEqual(['one', 'two']);
    await call(a, 'models:list');
    await call(a, 'seed:preview', { model: TINY_MODEL_ID, seed: 9 });
    // Another address has its own quota.
    const elsewhere = await client(server, '127.0.0.2');
    await call(elsewhere, 'room:create', { title: 'four', model: TINY_MODEL_ID, seed: 4 });
  });

  it('forks spend the same quota as new rooms (a watch link is enough to fork)', async () => {
    const server = await serverWith({ limits: { roomCreateBurst: 2, roomCreatesPerMinute: 1 } });
    const room = await createRoom(server.url, 5);
    const y = await connectYjs(server.url, room.roomId, room.editToken);
    cleanups.push(() => y.destroy());
    addPoint(y.doc, [4, 4], user('ann'));
    addPoint(y.doc, [8, 8], user('ann'));
    updateSettings(y.doc, { maxSteps: 2 });
    await new Promise((r) => setTimeout(r, 150));
    const ann = await client(server);
    const ended: unknown[] = [];
    ann.on('run:ended', (e) => ended.push(e));
    await call(ann, 'room:join', { token: room.editToken, user: user('ann') });
    const { runId } = await call<{ runId: string }>(ann, 'run:start');
    await waitFor(() => ended.length, 'the run to end', 60_000);
    const wes = await client(server);
    await call(wes, 'room:join', { token: room.viewToken, user: user('wes') });
    await call(wes, 'history:fork', { runId, step: 1 });
    const refused = errorOf(await (wes as unknown as Raw).emitWithAck('history:fork', { runId, step: 1 }));
    expect(refused).toMatchObject({ code: 'limit', message: expect.stringMatching(/too many new rooms/) });
    expect(await server.store.listForks(room.roomId)).toHaveLength(1);
  });

  it('seed previews: a burst, then refused with the time to wait', async () => {
    const server = await serverWith({ limits: { seedPreviewBurst: 3, seedPreviewsPerMinute: 60 } });
    const a = await client(server);
    const replies = await Promise.all([1, 2, 3, 4].map((seed) => (a as unknown as Raw).emitWithAck('seed:preview', { model: TINY_MODEL_ID, seed })));
    expect(replies.map(errorOf)).toEqual([null, null, null, { code: 'limit', message: expect.stringMatching(/too many seed previews .* try again in 1 s/), retryAfterSeconds: 1 }]);
    await new Promise((r) => setTimeout(r, 1100));
    await call(a, 'seed:preview', { model: TINY_MODEL_ID, seed: 4 });
  });
});

describe('preview cache', () => {
  it('serves a seed asked for again without a render, and keeps within its bytes', async () => {
    const jobs = new CountingPool({ size: 1 });
    // Room for about two tiny-model previews (a few hundred bytes each).
    const server = await serverWith({ jobs, limits: { previewCacheBytes: 1500 } });
    const a = await client(server);
    const first = await call<{ image: { bytes: ArrayBuffer } }>(a, 'seed:preview', { model: TINY_MODEL_ID, seed: 11 });
    const again = await call<{ image: { bytes: ArrayBuffer } }>(a, 'seed:preview', { model: TINY_MODEL_ID, seed: 11 });
    expect(Buffer.from(again.image.bytes).equals(Buffer.from(first.image.bytes))).toBe(true);
    expect(jobs.renders.map((r) => r.seed)).toEqual([11]);
    expect(jobs.renders[0].caller).toBe('127.0.0.1');
    for (let seed = 12; seed < 20; seed++) await call(a, 'seed:preview', { model: TINY_MODEL_ID, seed });
    await call(a, 'seed:preview', { model: TINY_MODEL_ID, seed: 11 }); // long since dropped
    expect(jobs.renders.map((r) => r.seed).filter((s) => s === 11)).toHaveLength(2);
  });
});

describe('render queue', () => {
  it('serves waiting renders round-robin by caller, so one caller cannot hold the others back', async () => {
    const pool = new WorkerPool({ size: 1, rendersWaiting: 100, rendersWaitingPerCaller: 100 });
    cleanups.push(() => pool.close());
    await pool.render({ modelPath: TINY_MODEL, seed: 1, format: 'webp' }); // the model is loaded
    const done: string[] = [];
    const ask = (caller: string, i: number) => pool.render({ modelPath: TINY_MODEL, seed: 100 + i, format: 'webp' }, { caller }).then(() => done.push(`${caller}${i}`));
    const flood = Array.from({ length: 6 }, (_, i) => ask('a', i));
    const others = [ask('b', 0), ask('c', 0), ask('b', 1)];
    await Promise.all([...flood, ...others]);
    // a0 was on the worker at once; then each caller in turn.
    expect(done).toEqual(['a0', 'a1', 'b0', 'c0', 'a2', 'b1', 'a3', 'a4', 'a5']);
  });

  it('refuses renders past the queue with busy and a retry time; the server then serves again', async () => {
    const server = await serverWith({ limits: { rendersWaiting: 2, rendersWaitingPerCaller: 2 } });
    const a = await client(server);
    // The first render also loads the model, so the others arrive while it runs.
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => (a as unknown as Raw).emitWithAck('seed:preview', { model: TINY_MODEL_ID, seed: 30 + i })));
    const errors = replies.map(errorOf);
    expect(errors.filter((e) => e === null)).toHaveLength(3);
    for (const e of errors.filter((e) => e !== null)) {
      expect(e).toMatchObject({ code: 'busy', message: expect.stringMatching(/busy.*try again in \d+ s/) });
      expect(e!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    await call(a, 'seed:preview', { model: TINY_MODEL_ID, seed: 40 });
    await call(a, 'room:create', { title: 'after', model: TINY_MODEL_ID, seed: 40 });
  });

  it('a caller that has filled its share is refused while another address still gets in', async () => {
    const server = await serverWith({ limits: { rendersWaiting: 8, rendersWaitingPerCaller: 2 } });
    const flooder = await client(server, '127.0.0.2');
    const quiet = await client(server, '127.0.0.3');
    const flood = Promise.all(Array.from({ length: 6 }, (_, i) => (flooder as unknown as Raw).emitWithAck('seed:preview', { model: TINY_MODEL_ID, seed: 50 + i })));
    const mine = (quiet as unknown as Raw).emitWithAck('seed:preview', { model: TINY_MODEL_ID, seed: 60 });
    const codes = (await flood).map((r) => errorOf(r)?.code ?? 'ok');
    expect(codes.filter((c) => c === 'busy').length).toBeGreaterThanOrEqual(3);
    expect(errorOf(await mine)).toBeNull();
  });
});

describe('waiting runs', () => {
  async function roomWithPair(server: StudioServer, name: string): Promise<ClientSocket> {
    const room = await createRoom(server.url, 5);
    const y = await connectYjs(server.url, room.roomId, room.editToken);
    cleanups.push(() => y.destroy());
    addPoint(y.doc, [4, 4], user(name));
    addPoint(y.doc, [28, 28], user(name));
    updateSettings(y.doc, { maxSteps: 1000, lr: 0.0001 });
    await new Promise((r) => setTimeout(r, 150));
    const s = await client(server);
    await call(s, 'room:join', { token: room.editToken, user: user(name) });
    return s;
  }

  it('refuses a run past the global cap on waiting runs with busy and a retry time; others keep running', async () => {
    const server = await serverWith({ limits: { runsWaiting: 2 } });
    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((n) => roomWithPair(server, n)));
    const frames: RunFrame[] = [];
    a.on('run:frame', (f, ack) => (frames.push(f), ack()));
    await call(a, 'run:start');
    await waitFor(() => frames.length, 'the first run on the worker', 60_000);
    await call(b, 'run:start');
    await call(c, 'run:start');
    const refused = errorOf(await (d as unknown as Raw).emitWithAck('run:start'));
    expect(refused).toMatchObject({ code: 'busy', message: expect.stringMatching(/2 runs waiting; try again in \d+ s/) });
    expect(refused!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const n = frames.length;
    await waitFor(() => frames.length > n + 2, 'the first run to go on');
    await call(b, 'run:stop');
    await call(d, 'run:start');
    for (const s of [a, c, d]) await call(s, 'run:stop');
  });
});

describe('Socket.IO message rate', () => {
  it('answers requests over the rate with limit, then serves the connection again', async () => {
    const server = await serverWith({ limits: { socketMessagesPerSecond: 5, socketMessageBurst: 10, requestsInFlight: 100 } });
    const a = await client(server);
    const replies = await Promise.all(Array.from({ length: 15 }, () => (a as unknown as Raw).emitWithAck('models:list')));
    const errors = replies.map(errorOf);
    expect(errors.filter((e) => e === null)).toHaveLength(10);
    expect(errors.filter((e) => e !== null)).toEqual(Array(5).fill({ code: 'limit', message: expect.stringMatching(/more than 5 requests a second/), retryAfterSeconds: 1 }));
    await new Promise((r) => setTimeout(r, 1100));
    await call(a, 'models:list');
  });

  it('disconnects a connection that keeps flooding; others are served throughout', async () => {
    const server = await serverWith({ limits: { socketMessagesPerSecond: 5, socketMessageBurst: 10 } });
    const flooder = await client(server);
    const good = await client(server);
    const errors: ErrorInfo[] = [];
    flooder.on('request:error', (e) => errors.push(e.error));
    const gone = new Promise<string>((ok) => flooder.once('disconnect', (reason) => ok(reason)));
    for (let i = 0; i < 100; i++) (flooder as unknown as Raw).emit('models:list');
    expect(await gone).toBe('io server disconnect');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.code === 'limit')).toBe(true);
    await call(good, 'models:list');
  });
});
