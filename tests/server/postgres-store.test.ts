/**
 * The studio on PostgreSQL (DATABASE_URL=postgres://...): a real server, worker pool and engine on a real
 * PostgreSQL 15 through a room's whole life: create, points and mask in the Yjs document, a drag run with
 * every step stored, history, a step's export, a fork, undo, then a restart on the same database that keeps
 * all of it. The same paths on SQLite are covered by history.test.ts and runs.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addPoint, readPoints, updateSettings } from '../../contract/room-doc.js';
import type { HistoryRun, RoomState, RunEnded } from '../../contract/events.js';
import type { StudioServer } from '../../server/studio-server.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, user, waitFor, type ClientSocket } from './helpers.js';
import { usePostgres } from './postgres-fixture.js';

describe('the studio on PostgreSQL', () => {
  const pg = usePostgres();
  const tmp = tempDir();
  const cleanups: (() => void)[] = [];
  let server: StudioServer | undefined;
  afterAll(async () => {
    for (const c of cleanups.splice(0)) c();
    await server?.close();
    tmp.cleanup();
  });

  async function join(token: string, name: string) {
    const socket: ClientSocket = await connectSocket(server!.url);
    cleanups.push(() => socket.disconnect());
    const ended: RunEnded[] = [];
    socket.on('run:frame', (_frame, ack) => ack());
    socket.on('run:ended', (e) => ended.push(e));
    const { state } = await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) });
    return { socket, ended, state };
  }

  it('keeps a room, its runs, steps, fork and undo across a restart', async () => {
    const database = await pg.createDatabase();
    // The SQLite path only names the data directory's lock; the store is in PostgreSQL.
    const dbFile = `${tmp.dir}/studio.db`;
    server = await startTestServer(dbFile, { database });

    const room = await createRoom(server.url, 5);
    const y = await connectYjs(server.url, room.roomId, room.editToken);
    cleanups.push(y.destroy);
    addPoint(y.doc, [10, 10], user('ann'));
    addPoint(y.doc, [16, 14], user('ann'));
    updateSettings(y.doc, { lr: 0.01, maxSteps: 6 });
    await new Promise((r) => setTimeout(r, 100));
    const ann = await join(room.editToken, 'ann');
    const bob = await join(room.viewToken, 'bob');
    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => ann.ended.length && bob.ended.length, 'the run to end', 60_000);
    const steps = ann.ended[0].steps;
    expect(steps).toBeGreaterThan(0);

    const { runs } = await call<{ runs: HistoryRun[] }>(bob.socket, 'history:list');
    expect(runs).toMatchObject([{ runId, seq: 1, kind: 'drag', status: 'ended', steps }]);
    const stored = await server.store.listSteps(runId);
    expect(stored.map((s) => s.step)).toEqual(stored.map((_, i) => i));
    expect(runs[0].recorded).toBe(stored.length);
    const mid = stored[Math.floor(stored.length / 2)].step;
    const png = await fetch(`${server.url}/api/rooms/${room.viewToken}/runs/${runId}/steps/${mid}/frame.png`);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');

    const fork = await call<{ roomId: string }>(bob.socket, 'history:fork', { runId, step: mid });
    expect(await call(ann.socket, 'history:undo')).toMatchObject({ undid: runId });
    const before = (await server.store.getRun(runId))!.latentBefore;
    await waitFor(async () => [...(await server!.store.get(room.roomId))!.latent].join() === [...before].join(), 'the undone latent to be stored');
    const roomBefore = (await server.store.get(room.roomId))!;
    await waitFor(() => readPoints(y.doc)[0].handle.join() === '10,10', 'the undone handle in the document');
    const points = JSON.stringify(readPoints(y.doc));

    // Restart on the same database: everything acknowledged is still there.
    for (const c of cleanups.splice(0)) c();
    await server.close();
    server = await startTestServer(dbFile, { database });
    const store = server.store;
    const back = (await store.get(room.roomId))!;
    expect(back.title).toBe(roomBefore.title);
    expect([...back.latent]).toEqual([...roomBefore.latent]);
    expect(Buffer.from(back.image).equals(Buffer.from(roomBefore.image))).toBe(true);
    expect((await store.findByToken(room.editToken))?.role).toBe('edit');
    expect((await store.listRuns(room.roomId)).map((r) => r.kind)).toEqual(['drag', 'undo']);
    expect((await store.listSteps(runId)).length).toBe(stored.length);
    const child = (await store.get(fork.roomId))!;
    expect(child).toMatchObject({ parentRoomId: room.roomId, forkRunId: runId, forkStep: mid });
    expect((await store.listForks(room.roomId)).map((r) => r.id)).toEqual([fork.roomId]);

    const doc = new Y.Doc();
    const saved = await store.loadDocument(room.roomId);
    if (saved.state) Y.applyUpdate(doc, saved.state);
    for (const u of saved.updates) Y.applyUpdate(doc, u);
    expect(JSON.stringify(readPoints(doc))).toBe(points);
    expect(readPoints(doc)).toHaveLength(1);
    // A client joining the restarted server gets the same room.
    const carol = await join(room.viewToken, 'carol');
    expect(carol.state.room.roomId).toBe(room.roomId);
  }, 120_000);
});
