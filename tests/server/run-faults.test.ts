/**
 * Run limits and worker faults through the whole stack (real server, Socket.IO and Yjs clients, the worker
 * pool and the engine on the tiny test model): queue limits per room and per user, the duration and step
 * limits, a worker killed mid-run and a worker that goes silent. In each fault the run is recorded as failed
 * with its reason, and the room goes on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { HistoryRun, RunEnded, RunFrame } from '../../contract/events.js';
import type { StudioServer, StudioServerOptions } from '../../server/studio-server.js';
import type { WorkerPool } from '../../server/jobs/worker-pool.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, user, waitFor, type ClientSocket } from './helpers.js';

interface Editor {
  socket: ClientSocket;
  frames: RunFrame[];
  ended: RunEnded[];
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serverWith(extra: Partial<StudioServerOptions>, dbFile?: string): Promise<StudioServer> {
  if (!dbFile) {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    dbFile = `${tmp.dir}/studio.db`;
  }
  const server = await startTestServer(dbFile, extra);
  cleanups.push(() => server.close());
  return server;
}

/** A room with one handle/target pair and its editor, joined over Socket.IO. */
async function editorInRoom(server: StudioServer, name: string, settings: Parameters<typeof updateSettings>[1], token?: string): Promise<Editor & { editToken: string }> {
  const room = token ? null : await createRoom(server.url, 5);
  const editToken = token ?? room!.editToken;
  if (room) {
    const y = await connectYjs(server.url, room.roomId, editToken);
    cleanups.push(() => y.destroy());
    addPoint(y.doc, [4, 4], user(name));
    addPoint(y.doc, [28, 28], user(name));
    updateSettings(y.doc, settings);
    await new Promise((r) => setTimeout(r, 150));
  }
  const socket = await connectSocket(server.url);
  cleanups.push(() => socket.disconnect());
  const e: Editor = { socket, frames: [], ended: [] };
  socket.on('run:frame', (f, ack) => {
    e.frames.push(f);
    ack();
  });
  socket.on('run:ended', (x) => e.ended.push(x));
  await call(socket, 'room:join', { token: editToken, user: user(name) });
  return Object.assign(e, { editToken });
}

const lastRun = async (s: ClientSocket) => (await call<{ runs: HistoryRun[] }>(s, 'history:list')).runs.at(-1)!;

describe('run limits', () => {
  it('refuses runs past the per-room queue, per-connection and per-address limits, with a clear error', async () => {
    const server = await serverWith({ limits: { queuedRunsPerRoom: 1, runsPerUser: 3, runsPerAddress: 4 } });
    const ann = await editorInRoom(server, 'ann', { maxSteps: 1000, lr: 0.001 });
    await call(ann.socket, 'run:start');
    await call(ann.socket, 'run:start'); // waits behind the first
    await expect(call(ann.socket, 'run:start')).rejects.toMatchObject({ code: 'limit', message: expect.stringMatching(/1 runs waiting/) });
    // The same connection in a second room: one more run is within its 3, then it is at the limit, whatever
    // user id it claims (the count is per connection, not per the id a client sends).
    const bob = await editorInRoom(server, 'bob', { maxSteps: 1000, lr: 0.001 });
    await call(ann.socket, 'room:join', { token: bob.editToken, user: user('ann') });
    await call(ann.socket, 'run:start');
    await call(ann.socket, 'room:join', { token: bob.editToken, user: { id: 'somebody-else', name: 'Not Ann', color: '#123456' } });
    await expect(call(ann.socket, 'run:start')).rejects.toMatchObject({ code: 'limit', message: expect.stringMatching(/you already have 3/) });
    // Another connection from the same address fills the address's 4; a third is refused for the address.
    await call(bob.socket, 'run:start');
    const carl = await editorInRoom(server, 'carl', { maxSteps: 1000, lr: 0.001 });
    await expect(call(carl.socket, 'run:start')).rejects.toMatchObject({ code: 'limit', message: expect.stringMatching(/address already has 4/) });
    expect(await call<{ cancelled: number }>(bob.socket, 'run:stop')).toMatchObject({ cancelled: 2 });
    // Places free up as runs end.
    await call(carl.socket, 'run:start');
    await call(ann.socket, 'room:leave');
    const first = await editorInRoom(server, 'ann', {}, ann.editToken);
    expect(await call<{ cancelled: number }>(first.socket, 'run:stop')).toMatchObject({ cancelled: 2 });
    expect(await call<{ cancelled: number }>(carl.socket, 'run:stop')).toMatchObject({ cancelled: 1 });
  });

  it('ends a run at the duration limit (steps kept, room image updated) and caps its steps', async () => {
    const server = await serverWith({ limits: { runSeconds: 1.5, maxSteps: 100_000 } });
    const ann = await editorInRoom(server, 'ann', { maxSteps: 1000, lr: 0.001 });
    await call(ann.socket, 'run:start');
    await waitFor(() => ann.ended[0], 'the run to end', 60_000);
    expect(ann.ended[0]).toMatchObject({ reason: 'time-limit' });
    expect(ann.ended[0].steps).toBeGreaterThan(0);
    expect(await lastRun(ann.socket)).toMatchObject({ status: 'ended', endReason: 'time-limit' });

    const capped = await serverWith({ limits: { maxSteps: 3 } });
    const bob = await editorInRoom(capped, 'bob', { maxSteps: 1000, lr: 0.001 });
    await call(bob.socket, 'run:start');
    await waitFor(() => bob.ended[0], 'the capped run to end', 60_000);
    expect(bob.ended[0]).toMatchObject({ reason: 'max-steps', steps: 3 });
  });

  it("ends a run whose handles stop moving as 'stalled' (steps kept), and the next run goes ahead", async () => {
    const server = await serverWith({ limits: { stallSteps: 8 } });
    // The smallest step size the room allows moves the handle far less than 1 px in 8 steps.
    const ann = await editorInRoom(server, 'ann', { maxSteps: 1000, lr: 0.0001 });
    await call(ann.socket, 'run:start');
    await call(ann.socket, 'run:start');
    await waitFor(() => ann.ended[1], 'both runs to end', 60_000);
    for (const e of ann.ended) {
      expect(e.reason).toBe('stalled');
      expect(e.steps).toBeGreaterThanOrEqual(8);
      expect(e.steps).toBeLessThan(20);
    }
    expect(await lastRun(ann.socket)).toMatchObject({ status: 'ended', endReason: 'stalled' });
  });
});

describe('worker faults', () => {
  it('a worker killed mid-run: the run fails with the reason recorded, a fresh worker runs the next one', async () => {
    const server = await serverWith({});
    const ann = await editorInRoom(server, 'ann', { maxSteps: 1000, lr: 0.001 });
    await call(ann.socket, 'run:start');
    await waitFor(() => ann.frames.length >= 3, 'a few frames', 60_000);
    await (server.jobs as WorkerPool).threads()[0].terminate();
    await waitFor(() => ann.ended[0], 'the run to end');
    expect(ann.ended[0]).toMatchObject({ reason: 'error', error: { code: 'worker-crashed' } });
    const failed = await lastRun(ann.socket);
    expect(failed).toMatchObject({ status: 'ended', endReason: 'error' });
    expect(failed.recorded).toBeGreaterThanOrEqual(3);
    const stored = await server.store.getRun(failed.runId);
    expect(stored?.error).toMatch(/exited/);
    // The room goes on.
    updateSettings((await connectYjsDoc(server, ann.editToken)).doc, { maxSteps: 3 });
    await new Promise((r) => setTimeout(r, 150));
    await call(ann.socket, 'run:start');
    await waitFor(() => ann.ended[1], 'the next run to end', 60_000);
    expect(ann.ended[1]).toMatchObject({ reason: 'max-steps', steps: 3 });
  });

  it('a worker that goes silent past the limit is replaced and its run fails as hung', async () => {
    // The room is made on a normal server; then the same database is served with a 50 ms silence limit,
    // shorter than loading the model for the first step: to the pool that worker has hung.
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const first = await serverWith({}, `${tmp.dir}/studio.db`);
    const { editToken } = await editorInRoom(first, 'ann', { maxSteps: 20 });
    await first.close();
    const server = await serverWith({ limits: { workerSilenceSeconds: 0.05 } }, `${tmp.dir}/studio.db`);
    const ann = await editorInRoom(server, 'ann', {}, editToken);
    const [before] = (server.jobs as WorkerPool).threads();
    await call(ann.socket, 'run:start');
    await waitFor(() => ann.ended[0], 'the run to end', 60_000);
    expect(ann.ended[0]).toMatchObject({ reason: 'error', error: { code: 'worker-hung' } });
    expect((server.jobs as WorkerPool).threads()[0]).not.toBe(before);
    expect(await lastRun(ann.socket)).toMatchObject({ status: 'ended', endReason: 'error' });
  });
});

async function connectYjsDoc(server: StudioServer, editToken: string) {
  const found = await server.store.findByToken(editToken);
  const y = await connectYjs(server.url, found!.room.id, editToken);
  cleanups.push(() => y.destroy());
  return y;
}
