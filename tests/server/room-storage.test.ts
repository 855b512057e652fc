/**
 * The per-room storage limit through the whole stack (a real server, Socket.IO and Yjs clients, the engine on
 * the tiny test model): the timeline reports a room's stored bytes; a drag that reaches the limit ends
 * 'storage-limit' keeping its recorded steps and the room usable; a new run in a full room is refused with
 * nothing queued; a fork of it runs; a photo's inversion is held to the same limit.
 */
import { describe, expect, it } from 'vitest';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { HistoryPage, RoomState, RunEnded } from '../../contract/events.js';
import { call, connectSocket, connectYjs, createRoom, user, useServerFixture, waitFor } from './helpers.js';
import { quadrants, upload } from './photo-upload-helpers.js';

describe('per-room storage', () => {
  const fx = useServerFixture({ per: 'test' });

  async function joined(token: string) {
    const socket = await connectSocket(fx.server.url);
    fx.onCleanup(() => socket.disconnect());
    const ended: RunEnded[] = [];
    socket.on('run:frame', (_f, ack) => ack());
    socket.on('run:ended', (e) => ended.push(e));
    const { state } = await call<{ state: RoomState }>(socket, 'room:join', { token, user: user('ann') });
    return { socket, ended, state, history: () => call<HistoryPage>(socket, 'history:list', {}) };
  }

  async function withPair(roomId: string, token: string) {
    const y = await connectYjs(fx.server.url, roomId, token);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, [8, 8], user('ann'));
    addPoint(y.doc, [24, 20], user('ann'));
    // A small step size: the run would go on to maxSteps unless something stops it.
    updateSettings(y.doc, { lr: 0.0005, maxSteps: 200 });
    await new Promise((r) => setTimeout(r, 150));
  }

  it('stops a drag at the limit, keeps its steps, refuses the next run, and a fork goes on', async () => {
    const room = await createRoom(fx.server.url, 5);
    await withPair(room.roomId, room.editToken);
    const before = (await (await joined(room.editToken)).history()).storage;
    // A room's bytes only grow here, and the document's last edits may still be on their way to the store when the
    // count is taken: a count read earlier is at most one read later.
    expect(before.usedBytes).toBeLessThanOrEqual(await fx.server.store.storageBytes(room.roomId));
    expect(before.usedBytes).toBeGreaterThan(0);
    // Room for the run's start and a few steps, far fewer than its 200.
    const limit = before.usedBytes + 6000;
    await fx.restart({ limits: { roomStorageBytes: limit } });
    const ann = await joined(room.editToken);
    const reopened = (await ann.history()).storage;
    expect(reopened.limitBytes).toBe(limit);
    expect(reopened.usedBytes).toBeGreaterThanOrEqual(before.usedBytes);
    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => ann.ended.length, 'the run to end', 60_000);
    const end = ann.ended[0];
    expect(end.reason).toBe('storage-limit');
    expect(end.error?.code).toBe('storage-full');
    expect(end.error?.message).toMatch(/fork a step into a new room/);
    const run = (await fx.server.store.getRun(runId))!;
    expect(run.endReason).toBe('storage-limit');
    expect(run.recorded).toBeGreaterThan(0);
    expect(run.recorded).toBeLessThan(50);
    expect(end.steps).toBe(run.steps);
    // The recorded steps stay viewable; the room reports itself full.
    const page = await ann.history();
    expect(page.storage.usedBytes).toBeGreaterThanOrEqual(limit);
    expect(page.storage.usedBytes).toBeLessThanOrEqual(await fx.server.store.storageBytes(room.roomId));
    const last = await call<{ step: { step: number } }>(ann.socket, 'history:step', { runId, step: run.recorded - 1 });
    expect(last.step.step).toBe(run.recorded - 1);

    // A full room refuses a new run before anything is queued or recorded.
    await expect(call(ann.socket, 'run:start')).rejects.toMatchObject({ code: 'storage-full' });
    expect((await ann.history()).total).toBe(page.total);
    expect(fx.server.runs.state(room.roomId).current).toBeNull();

    // A fork starts with only the forked step's state, well under the limit, and runs.
    const fork = await call<{ roomId: string; editToken: string }>(ann.socket, 'history:fork', { runId, step: 0 });
    const child = await joined(fork.editToken);
    expect((await child.history()).storage.usedBytes).toBeLessThan(limit / 2);
    await withPair(fork.roomId, fork.editToken);
    await call(child.socket, 'run:start');
    await waitFor(() => child.ended.length, 'the fork\'s run to end', 60_000);
    expect(child.ended[0].reason).toBe('storage-limit');
  });

  it('holds a photo\'s inversion to the limit: refused when the new room is already over it, stopped when it reaches it', async () => {
    const photo = new Uint8Array(await quadrants(64, 64).png().toBuffer());
    await fx.restart({ limits: { roomStorageBytes: 100 } });
    const refused = await upload(fx.server.url, photo);
    expect(refused.status).toBe(429);
    expect(refused.answer.ok === false && refused.answer.error.message).toMatch(/stores .* of its/);
    // The refused upload left no room behind.
    expect(await fx.server.store.listRecent(10)).toEqual([]);

    await fx.restart({ limits: { roomStorageBytes: 20_000 } });
    const made = await upload(fx.server.url, photo, { wSteps: '150', wPlusSteps: '0' });
    expect(made.status).toBe(201);
    if (!made.answer.ok) throw new Error(made.answer.error.message);
    const { roomId } = made.answer;
    const runId = made.answer.runId!;
    // The run is recorded when its turn comes, after the upload's answer.
    let run = await fx.server.store.getRun(runId);
    for (const t0 = Date.now(); run?.status !== 'ended'; run = await fx.server.store.getRun(runId)) {
      if (Date.now() - t0 > 60_000) throw new Error('timed out waiting for the inversion to end');
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!run) throw new Error('the inversion was never recorded');
    expect(run.endReason).toBe('storage-limit');
    expect(run.recorded).toBeGreaterThan(0);
    expect(run.steps).toBeLessThan(150);
    // The room ends on the last good latent, as after a Stop, and stays usable.
    const stored = (await fx.server.store.get(roomId))!;
    expect(Array.from(stored.latent)).not.toEqual(Array.from(run.latentBefore));
    const ann = await joined(made.answer.editToken);
    expect(ann.state.room.roomId).toBe(roomId);
    expect((await ann.history()).storage.usedBytes).toBeGreaterThanOrEqual(20_000);
  });
});
