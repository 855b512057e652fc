/**
 * Durability when storage fails, through the whole stack (real server, Socket.IO and Yjs clients, the worker
 * pool on the tiny model, a real SQLite file): the store fails on demand (failing-store.ts wraps the real
 * one) or the database itself refuses a write (a SQLite trigger). Nothing goes out that was not recorded,
 * writes are retried, a run that cannot be recorded ends with a storage error everyone sees, a run's end is
 * all or nothing, a document is kept until it is stored, and one database serves one server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import * as Y from 'yjs';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { addPoint, readPoints, updateSettings } from '../../contract/room-doc.js';
import type { HistoryRun, RunEnded, RunFrame } from '../../contract/events.js';
import type { StudioServer, StudioServerOptions } from '../../server/studio-server.js';
import { DataDirLockedError } from '../../server/db/data-dir-lock.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, user, waitFor, type ClientSocket, type YClient } from './helpers.js';
import { StoreFaults } from './failing-store.js';
import { spawnServer, startChild, stopChild, type Child } from './child-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Short retries, so that giving up takes a fraction of a second. */
const FAST_RETRIES = { storageRetries: 3, storageRetryMs: 10 };

async function serverOn(dbFile: string, extra: Partial<StudioServerOptions> = {}): Promise<StudioServer> {
  const server = await startTestServer(dbFile, { ...extra, limits: { ...FAST_RETRIES, ...extra.limits } });
  cleanups.push(() => server.close());
  return server;
}

function newDbFile(): string {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  return `${tmp.dir}/studio.db`;
}

async function yjs(server: StudioServer, roomId: string, token: string): Promise<YClient> {
  const y = await connectYjs(server.url, roomId, token);
  cleanups.push(() => y.destroy());
  return y;
}

interface Editor {
  socket: ClientSocket;
  frames: RunFrame[];
  ended: RunEnded[];
  images: number;
}

/** A room with one handle/target pair (handle at [4, 4]), its document client and an editor joined over Socket.IO. */
async function roomWithEditor(server: StudioServer, settings: Parameters<typeof updateSettings>[1]) {
  const room = await createRoom(server.url, 5);
  const y = await yjs(server, room.roomId, room.editToken);
  addPoint(y.doc, [4, 4], user('ann'));
  addPoint(y.doc, [28, 28], user('ann'));
  updateSettings(y.doc, settings);
  const watcher = await yjs(server, room.roomId, room.viewToken);
  await waitFor(() => readPoints(watcher.doc).length === 1 && readPoints(watcher.doc)[0].target, 'the server to have the pair');
  const socket = await connectSocket(server.url);
  cleanups.push(() => socket.disconnect());
  const editor: Editor = { socket, frames: [], ended: [], images: 0 };
  socket.on('run:frame', (f, ack) => {
    editor.frames.push(f);
    ack();
  });
  socket.on('run:ended', (e) => editor.ended.push(e));
  socket.on('room:image', () => editor.images++);
  await call(socket, 'room:join', { token: room.editToken, user: user('ann') });
  return { room, y, editor };
}

const runsOf = async (s: ClientSocket) => (await call<{ runs: HistoryRun[] }>(s, 'history:list')).runs;

describe('storage faults during runs', () => {
  it('a step whose record cannot be written is never broadcast, and the run ends with a storage error', async () => {
    const faults = new StoreFaults();
    const server = await serverOn(newDbFile(), { wrapStore: faults.wrap });
    const { room, y, editor } = await roomWithEditor(server, { maxSteps: 1000, lr: 0.001 });
    const before = (await server.store.get(room.roomId))!;
    // Steps 0, 1 and 2 are recorded; step 3's record fails on every try.
    faults.fail('addStep', { after: 3 });
    const { runId } = await call<{ runId: string }>(editor.socket, 'run:start');
    const ended = await waitFor(() => editor.ended.find((e) => e.runId === runId), 'the run to end', 60_000);

    expect(ended).toMatchObject({ reason: 'error', steps: 2, error: { code: 'storage', message: expect.stringMatching(/step 3 could not be recorded: disk I\/O error/) } });
    // Step 3 was tried 1 + retries times; steps after it whose writes were already in flight (step records are
    // written concurrently, server/runs/step-recorder.ts) failed the same way, each after its own retries.
    const tries = 1 + FAST_RETRIES.storageRetries;
    expect(faults.count('addStep', 'failed')).toBeGreaterThanOrEqual(tries);
    expect(faults.count('addStep', 'failed') % tries).toBe(0);
    // Only recorded steps went out; the final frame repeats the last of them.
    const frames = editor.frames.filter((f) => f.runId === runId);
    expect(frames.map((f) => f.step)).toEqual([0, 1, 2, 2]);
    expect(frames.at(-1)!.final).toBe(true);
    for (const f of frames) expect(await server.store.getStep(runId, f.step)).not.toBeNull();

    // The database agrees: the run ended as an error with its three steps, the room kept its image and handles.
    expect(await server.store.getRun(runId)).toMatchObject({ status: 'ended', endReason: 'error', recorded: 3, steps: 2, error: expect.stringMatching(/step 3/) });
    const after = (await server.store.get(room.roomId))!;
    expect(Buffer.from(after.image).equals(Buffer.from(before.image))).toBe(true);
    expect(readPoints(y.doc)[0].handle).toEqual([4, 4]);
    expect(editor.images).toBe(0);

    // Storage is back: the room runs again.
    faults.heal();
    updateSettings(y.doc, { maxSteps: 3 });
    await new Promise((r) => setTimeout(r, 150));
    const again = await call<{ runId: string }>(editor.socket, 'run:start');
    expect(await waitFor(() => editor.ended.find((e) => e.runId === again.runId), 'the next run to end', 60_000)).toMatchObject({ reason: 'max-steps', steps: 3 });
  });

  it("a run whose end fails to be written is ended on a retry, and undo works", async () => {
    const faults = new StoreFaults();
    const server = await serverOn(newDbFile(), { wrapStore: faults.wrap });
    const { room, y, editor } = await roomWithEditor(server, { maxSteps: 3, lr: 0.01 });
    const before = (await server.store.get(room.roomId))!;
    faults.fail('finishRun', { times: 2 });
    const { runId } = await call<{ runId: string }>(editor.socket, 'run:start');
    const ended = await waitFor(() => editor.ended.find((e) => e.runId === runId), 'the run to end', 60_000);

    expect(ended).toMatchObject({ reason: 'max-steps', steps: 3 });
    expect(faults.count('finishRun', 'failed')).toBe(2);
    expect((await runsOf(editor.socket)).at(-1)).toMatchObject({ runId, status: 'ended', endReason: 'max-steps' });
    await waitFor(() => readPoints(y.doc)[0].handle[0] !== 4, 'the handle to move');
    expect((await storedPoints(server, room.roomId))[0].handle).toEqual(readPoints(y.doc)[0].handle);
    expect(Buffer.from((await server.store.get(room.roomId))!.image).equals(Buffer.from(before.image))).toBe(false);

    const undo = await call<{ undid: string }>(editor.socket, 'history:undo');
    expect(undo.undid).toBe(runId);
    await waitFor(() => readPoints(y.doc)[0].handle[0] === 4, 'the handle to go back');
    expect(Buffer.from((await server.store.get(room.roomId))!.image).equals(Buffer.from(before.image))).toBe(true);
  });

  it("a run's end is one transaction: a write failing in its middle leaves nothing half-written", async () => {
    const dbFile = newDbFile();
    const server = await serverOn(dbFile);
    const { room, y, editor } = await roomWithEditor(server, { maxSteps: 3, lr: 0.01 });
    const before = (await server.store.get(room.roomId))!;
    // The database refuses to mark a run ended: the room's image and the handles' update come first in the
    // transaction and must be rolled back with it.
    const db = new Database(dbFile);
    cleanups.push(() => db.close());
    db.exec(`CREATE TRIGGER refuse_run_end BEFORE UPDATE OF status ON Run WHEN NEW.status = 'ended'
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    const { runId } = await call<{ runId: string }>(editor.socket, 'run:start');
    const ended = await waitFor(() => editor.ended.find((e) => e.runId === runId), 'the run to end', 60_000);

    expect(ended).toMatchObject({ reason: 'error', steps: 3, error: { code: 'storage', message: expect.stringMatching(/^the run's end could not be saved: [^\n]+$/) } });
    const half = (await server.store.get(room.roomId))!;
    expect(Buffer.from(half.image).equals(Buffer.from(before.image))).toBe(true);
    expect([...half.latent]).toEqual([...before.latent]);
    expect((await storedPoints(server, room.roomId))[0].handle).toEqual([4, 4]);
    expect(readPoints(y.doc)[0].handle).toEqual([4, 4]);
    expect(editor.images).toBe(0);
    expect((await server.store.getRun(runId))!.status).toBe('running');

    // Once the database takes writes again, the run is ended (as the error it was), not left running.
    db.exec('DROP TRIGGER refuse_run_end');
    const run = await waitForAsync(() => server.store.getRun(runId), (r) => r?.status === 'ended', 'the run to be ended');
    expect(run).toMatchObject({ endReason: 'error', error: expect.stringMatching(/end could not be saved/) });
    expect(Buffer.from((await server.store.get(room.roomId))!.image).equals(Buffer.from(before.image))).toBe(true);
    // Undo is not blocked by a run left 'running' (it takes the failed drag back to where the room already is).
    expect(await call<{ undid: string }>(editor.socket, 'history:undo')).toMatchObject({ undid: runId });
    expect(Buffer.from((await server.store.get(room.roomId))!.image).equals(Buffer.from(before.image))).toBe(true);
  });
});

describe('storage faults in undo', () => {
  it('an undo whose write fails in its middle changes nothing and leaves no entry; it works once storage is back', async () => {
    const dbFile = newDbFile();
    const server = await serverOn(dbFile);
    const { room, y, editor } = await roomWithEditor(server, { maxSteps: 3, lr: 0.01 });
    const { runId } = await call<{ runId: string }>(editor.socket, 'run:start');
    await waitFor(() => editor.ended.find((e) => e.runId === runId), 'the run to end', 60_000);
    await waitFor(() => readPoints(y.doc)[0].handle[0] !== 4, 'the handle to move');
    const moved = readPoints(y.doc)[0].handle;
    const after = (await server.store.get(room.roomId))!;
    // The entry is inserted first in the transaction; the room's image is refused after it.
    const db = new Database(dbFile);
    cleanups.push(() => db.close());
    db.exec(`CREATE TRIGGER refuse_image BEFORE UPDATE OF image ON Room BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);

    await expect(call(editor.socket, 'history:undo')).rejects.toMatchObject({ code: 'storage', message: expect.stringMatching(/^history:undo: storage: the undo could not be saved, nothing changed: [^\n]+$/) });
    expect((await runsOf(editor.socket)).map((r) => r.runId)).toEqual([runId]);
    expect(Buffer.from((await server.store.get(room.roomId))!.image).equals(Buffer.from(after.image))).toBe(true);
    expect((await storedPoints(server, room.roomId))[0].handle).toEqual(moved);
    expect(readPoints(y.doc)[0].handle).toEqual(moved);

    db.exec('DROP TRIGGER refuse_image');
    expect(await call<{ undid: string }>(editor.socket, 'history:undo')).toMatchObject({ undid: runId });
    await waitFor(() => readPoints(y.doc)[0].handle[0] === 4, 'the handle to go back');
    expect((await runsOf(editor.socket)).map((r) => [r.kind, r.status])).toEqual([['drag', 'ended'], ['undo', 'ended']]);
  });
});

describe('storage faults while editing', () => {
  it('a document whose store fails stays loaded and is stored on a retry: the edits survive an unload and a restart', async () => {
    const dbFile = newDbFile();
    const faults = new StoreFaults();
    const server = await serverOn(dbFile, { wrapStore: faults.wrap });
    const room = await createRoom(server.url, 5);
    // Storage is down: neither the update log nor the full store takes the edits.
    faults.fail('appendDocumentUpdate');
    faults.fail('storeDocument');
    const ann = await yjs(server, room.roomId, room.editToken);
    const bob = await yjs(server, room.roomId, room.viewToken);
    addPoint(ann.doc, [6, 6], user('ann'));
    addPoint(ann.doc, [20, 20], user('ann'));
    await waitFor(() => readPoints(bob.doc).length === 1 && readPoints(bob.doc)[0].target, 'bob to see the pair');
    const expected = readPoints(ann.doc);
    // Everyone leaves: only the server's copy has the edits.
    ann.destroy();
    bob.destroy();
    await waitFor(() => faults.count('storeDocument', 'failed') >= 3, 'three failed stores');
    // Well past the unload delay (200 ms in tests), the document is still in memory, its store still retried.
    await new Promise((r) => setTimeout(r, 600));
    expect(server.docs.isLoaded(room.roomId)).toBe(true);
    const failed = faults.count('storeDocument', 'failed');
    await waitFor(() => faults.count('storeDocument', 'failed') > failed, 'another try');

    faults.heal();
    await waitFor(() => faults.count('storeDocument') >= 1, 'a store that works');
    await waitFor(() => !server.docs.isLoaded(room.roomId), 'the document to be unloaded once stored');
    const loads = faults.count('loadDocument');
    const carol = await yjs(server, room.roomId, room.viewToken);
    expect(faults.count('loadDocument')).toBe(loads + 1);
    expect(readPoints(carol.doc)).toEqual(expected);
    carol.destroy();

    await server.close();
    const restarted = await serverOn(dbFile);
    const dave = await yjs(restarted, room.roomId, room.viewToken);
    expect(readPoints(dave.doc)).toEqual(expected);
  });
});

describe('one server per database', () => {
  it('a second server on the same data directory fails at once, naming the directory and the holder', async () => {
    const dbFile = newDbFile();
    await serverOn(dbFile);
    const t0 = Date.now();
    const second = startTestServer(dbFile);
    await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(second).rejects.toThrow(`the data directory ${realpathSync(dirname(dbFile))} is in use by another studio server (pid ${process.pid}`);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('across processes: the second fails with the first one\'s pid, and a killed holder does not block a restart', async () => {
    const dbFile = newDbFile();
    const children: Omit<Child, 'url'>[] = [];
    cleanups.push(async () => {
      for (const c of children) await stopChild(c);
    });
    const first = await startChild(dbFile);
    children.push(first);
    const second = spawnServer(dbFile);
    children.push(second);
    expect(await second.exited).not.toBe(0);
    expect(second.log.join('')).toContain(`the data directory ${realpathSync(dirname(dbFile))} is in use by another studio server (pid ${first.proc.pid}`);

    first.proc.kill('SIGKILL');
    await first.exited;
    const third = await startChild(dbFile);
    children.push(third);
    const room = await createRoom(third.url, 5);
    expect(room.roomId).toBeTruthy();
  });
});

/** The room's points as storage has them (full state, then the update log). */
async function storedPoints(server: StudioServer, roomId: string) {
  const { state, updates } = await server.store.loadDocument(roomId);
  const doc = new Y.Doc();
  for (const u of [...(state ? [state] : []), ...updates]) Y.applyUpdate(doc, u);
  return readPoints(doc);
}

async function waitForAsync<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
