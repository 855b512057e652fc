/**
 * Malformed requests for every Socket.IO event: each gets a clear `invalid` error (in its ack, or as
 * `request:error` when sent without one), nothing is applied, and another client in the same room is not
 * affected. Also an unknown event and a message over the size limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ErrorInfo, Result, RoomState } from '../../contract/events.js';
import type { StudioServer } from '../../server/studio-server.js';
import { call, connectSocket, createRoom, startTestServer, tempDir, TINY_MODEL_ID, user, waitFor, type ClientSocket } from './helpers.js';

type Raw = { emitWithAck(e: string, ...a: unknown[]): Promise<Result<unknown>>; emit(e: string, ...a: unknown[]): void };

const huge = 'x'.repeat(5000);
const BAD: Partial<Record<keyof ClientToServerEvents, unknown[][]>> = {
  'seed:preview': [[], [null], ['tiny'], [{ model: TINY_MODEL_ID, seed: -1 }], [{ model: TINY_MODEL_ID, seed: 1.5 }], [{ model: TINY_MODEL_ID, seed: NaN }], [{ model: TINY_MODEL_ID, seed: 2 ** 40 }], [{ model: huge, seed: 1 }], [{ model: TINY_MODEL_ID, seed: 1, extra: 1 }]],
  'room:create': [[{}], [{ title: 7, model: TINY_MODEL_ID, seed: 1 }], [{ title: huge, model: TINY_MODEL_ID, seed: 1 }], [{ title: 't', model: TINY_MODEL_ID, seed: '1' }]],
  'room:join': [[{ token: 5, user: user('x') }], [{ token: 'a', user: { id: 'x', name: 'x', color: 'red' } }], [{ token: 'a', user: { id: huge, name: 'x', color: '#ffffff' } }], [{ token: 'a' }]],
  'rooms:describe': [[{ tokens: 'abc' }], [{ tokens: Array(51).fill('a') }], [{ tokens: [1, 2] }]],
  'room:rotate-links': [[{ which: 'all' }], [{}], ['edit']],
  'history:step': [[{ runId: 'r', step: -1 }], [{ runId: 'r', step: 0.5 }], [{ runId: 5, step: 0 }], [{ runId: 'r' }]],
  'history:fork': [[{ runId: 'r', step: Infinity }], [{ runId: huge, step: 0 }]],
  // Events that take no payload refuse one.
  'models:list': [[{ a: 1 }]],
  'models:rescan': [[{ dir: '/etc' }]],
  'run:start': [[{ maxSteps: 5 }]],
  'run:stop': [['now']],
  'history:list': [[1]],
  'history:undo': [[{}]],
  'history:redo': [[true]],
};

describe('malformed requests', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: StudioServer;
  let room: Awaited<ReturnType<typeof createRoom>>;
  let bad: ClientSocket;
  let good: ClientSocket;
  let goodErrors: unknown[];

  beforeAll(async () => {
    tmp = tempDir();
    server = await startTestServer(`${tmp.dir}/studio.db`, { limits: { socketMessageBytes: 20_000 } });
    room = await createRoom(server.url);
    bad = await connectSocket(server.url);
    good = await connectSocket(server.url);
    goodErrors = [];
    good.on('request:error', (e) => goodErrors.push(e));
    await call(bad, 'room:join', { token: room.editToken, user: user('mallory') });
    await call(good, 'room:join', { token: room.editToken, user: user('ann') });
  });
  afterAll(async () => {
    bad.disconnect();
    good.disconnect();
    await server.close();
    tmp.cleanup();
  });

  it.each(Object.entries(BAD))('%s: every bad payload is refused as invalid, with what was wrong', async (event, cases) => {
    for (const args of cases) {
      const res = await (bad as unknown as Raw).emitWithAck(event, ...args);
      expect(res.ok, `${event} ${JSON.stringify(args).slice(0, 80)}`).toBe(false);
      const error = (res as { error: ErrorInfo }).error;
      expect(error.code).toBe('invalid');
      expect(error.message.length).toBeGreaterThan(event.length + 2);
      expect(error.message.length).toBeLessThan(400);
    }
  });

  it('reports an error for a request sent without an acknowledgement, and for unknown events', async () => {
    const errors: { event: string; error: ErrorInfo }[] = [];
    bad.on('request:error', (e) => errors.push(e));
    (bad as unknown as Raw).emit('seed:preview', { model: 'nope', seed: 1 });
    (bad as unknown as Raw).emit('room:explode', { please: true });
    await waitFor(() => errors.length >= 2, 'two request errors');
    expect(errors.map((e) => [e.event, e.error.code]).sort()).toEqual([['room:explode', 'unknown-event'], ['seed:preview', 'invalid']]);
  });

  it('nothing was applied: no room created, the room and its links unchanged, the other client unaffected', async () => {
    const res = await call<{ rooms: { room: { roomId: string } }[] }>(good, 'rooms:describe', { tokens: [room.editToken, room.viewToken] });
    expect(res.rooms.map((r) => r.room.roomId)).toEqual([room.roomId, room.roomId]);
    const recent = await server.store.listRecent(10);
    expect(recent.map((r) => r.id)).toEqual([room.roomId]);
    const hist = await call<{ runs: unknown[] }>(good, 'history:list');
    expect(hist.runs).toEqual([]);
    expect(goodErrors).toEqual([]);
  });

  it('refuses requests past the in-flight limit of a connection; the connection then works normally', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => (bad as unknown as Raw).emitWithAck('seed:preview', { model: TINY_MODEL_ID, seed: 100 + i })));
    const codes = replies.map((r) => (r.ok ? 'ok' : (r as { error: ErrorInfo }).error.code));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(server.limits.requestsInFlight);
    expect(codes.filter((c) => c === 'limit')).toHaveLength(20 - server.limits.requestsInFlight);
    expect((await (bad as unknown as Raw).emitWithAck('seed:preview', { model: TINY_MODEL_ID, seed: 1 })).ok).toBe(true);
  });

  it('a message over the size limit ends only that connection', async () => {
    const big = await connectSocket(server.url);
    const gone = new Promise<string>((ok) => big.once('disconnect', (reason) => ok(reason)));
    (big as unknown as Raw).emit('rooms:describe', { tokens: ['a'.repeat(30_000)] });
    expect(await gone).toMatch(/transport/);
    const { state } = await call<{ state: RoomState }>(good, 'room:join', { token: room.viewToken, user: user('ann') });
    expect(state.role).toBe('view');
  });
});
