/**
 * Durability (hardening): the real server runs in a child process, is SIGKILLed in the middle of a run
 * right after a document edit reached it, and restarts on the same SQLite file with every document edit,
 * every step record whose frame was broadcast, and the run itself (ended as 'interrupted') intact; timeline,
 * step view, fork and a new run keep working. The child stores full documents only once an hour, so the
 * edits can only have come back through the update log.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { addMaskStroke, addPoint, readMask, readPoints, readSettings, updateSettings } from '../../contract/room-doc.js';
import type { HistoryRun, HistoryStep, RoomState, RunEnded, RunFrame } from '../../contract/events.js';
import { call, connectSocket, connectYjs, createRoom, tempDir, user, waitFor, type ClientSocket, type YClient } from './helpers.js';
import { startChild, stopChild, type Child } from './child-server.js';

describe('a server killed mid-run', () => {
  const tmp = tempDir();
  const children: Child[] = [];
  const cleanups: (() => void)[] = [];

  afterAll(async () => {
    for (const c of cleanups.splice(0)) c();
    for (const child of children) await stopChild(child);
    tmp.cleanup();
  });

  async function join(url: string, token: string, name: string) {
    const socket: ClientSocket = await connectSocket(url);
    cleanups.push(() => socket.disconnect());
    const frames: RunFrame[] = [];
    const ended: RunEnded[] = [];
    socket.on('run:frame', (frame, ack) => {
      frames.push(frame);
      ack();
    });
    socket.on('run:ended', (e) => ended.push(e));
    const { state } = await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) });
    return { socket, frames, ended, state };
  }

  async function yjs(url: string, roomId: string, token: string): Promise<YClient> {
    const c = await connectYjs(url, roomId, token);
    cleanups.push(c.destroy);
    return c;
  }

  it('restarts with every edit, step and run record intact', async () => {
    const dbFile = `${tmp.dir}/studio.db`;
    const first = await startChild(dbFile);
    children.push(first);
    const room = await createRoom(first.url, 7);

    // The document: two handle/target pairs, a mask stroke, settings for a run that will not finish soon.
    const ann = await yjs(first.url, room.roomId, room.editToken);
    const bob = await yjs(first.url, room.roomId, room.viewToken);
    const who = user('ann');
    addPoint(ann.doc, [6, 6], who);
    addPoint(ann.doc, [26, 24], who);
    addPoint(ann.doc, [24, 8], who);
    addPoint(ann.doc, [8, 26], who);
    addMaskStroke(ann.doc, { mode: 'flexible', radius: 6, points: [6, 6, 16, 16, 26, 24] });
    updateSettings(ann.doc, { maxSteps: 1000, lr: 0.0001 });
    await waitFor(() => readPoints(bob.doc).length === 2 && readMask(bob.doc).length === 1 && readSettings(bob.doc).maxSteps === 1000, 'bob to see the set-up');

    const watcher = await join(first.url, room.editToken, 'ann');
    const imageBefore = Buffer.from(watcher.state.image.bytes as ArrayBuffer);
    const { runId } = await call<{ runId: string }>(watcher.socket, 'run:start');
    await waitFor(() => watcher.frames.filter((f) => f.runId === runId).length >= 4, 'a few frames', 120_000);
    expect(watcher.ended).toEqual([]);

    // One more edit, seen by another client (so the server applied it), then the kill.
    updateSettings(ann.doc, { lambda: 42 });
    await waitFor(() => readSettings(bob.doc).lambda === 42, 'bob to see the last edit');
    const expected = { points: readPoints(ann.doc), mask: readMask(ann.doc), settings: readSettings(ann.doc) };
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    // The old clients go now, so nothing can re-sync their copies into the restarted server.
    for (const c of cleanups.splice(0)) c();
    const lastFrame = watcher.frames.filter((f) => f.runId === runId).reduce((a, b) => (b.step > a.step ? b : a));
    expect(watcher.ended).toEqual([]);

    const second = await startChild(dbFile);
    children.push(second);
    await waitFor(() => /marked 1 run\(s\) interrupted/.test(second.log.join('')), 'the start-up to report the interrupted run');
    const db = new Database(dbFile, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT status, endReason, error FROM Run WHERE id = ?').get(runId)).toEqual({
        status: 'ended', endReason: 'interrupted', error: 'the server stopped during this run',
      });
    } finally {
      db.close();
    }

    // Every document edit, the last one included.
    const carol = await yjs(second.url, room.roomId, room.editToken);
    expect({ points: readPoints(carol.doc), mask: readMask(carol.doc), settings: readSettings(carol.doc) }).toEqual(expected);
    expect(readSettings(carol.doc)).toMatchObject({ maxSteps: 1000, lr: 0.0001, lambda: 42 });

    // The run: ended as interrupted, with every step whose frame went out.
    const back = await join(second.url, room.editToken, 'ann');
    expect(back.state.runs.current).toBeNull();
    // The room's image is still the one before the run (a run writes its result only when it ends).
    expect(Buffer.from(back.state.image.bytes as ArrayBuffer).equals(imageBefore)).toBe(true);
    const { runs } = await call<{ runs: HistoryRun[] }>(back.socket, 'history:list');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ runId, status: 'ended', endReason: 'interrupted' });
    expect(runs[0].recorded).toBeGreaterThanOrEqual(lastFrame.step + 1);
    expect(runs[0].steps).toBe(runs[0].recorded - 1);
    expect(runs[0].endedAt).not.toBeNull();
    console.log(`[numbers] killed after frame step ${lastFrame.step} reached a client; ${runs[0].recorded} step records survived`);

    // Its last broadcast step can be viewed and forked from.
    const { step } = await call<{ step: HistoryStep }>(back.socket, 'history:step', { runId, step: lastFrame.step });
    expect(step.step).toBe(lastFrame.step);
    expect(step.handles).toEqual(lastFrame.handles);
    const fork = await call<{ roomId: string; editToken: string }>(back.socket, 'history:fork', { runId, step: lastFrame.step });
    const forked = await yjs(second.url, fork.roomId, fork.editToken);
    await waitFor(() => readPoints(forked.doc).length === 2, "the fork's points");
    expect(readPoints(forked.doc).map((p) => p.handle)).toEqual(lastFrame.handles);

    // And the room runs again.
    const dave = await yjs(second.url, room.roomId, room.viewToken);
    updateSettings(carol.doc, { maxSteps: 3 });
    await waitFor(() => readSettings(dave.doc).maxSteps === 3, 'the server to have the new settings');
    const again = await call<{ runId: string }>(back.socket, 'run:start');
    await waitFor(() => back.ended.find((e) => e.runId === again.runId), 'the new run to end', 120_000);
    expect(['reached', 'max-steps']).toContain(back.ended.find((e) => e.runId === again.runId)!.reason);
    const after = await call<{ runs: HistoryRun[] }>(back.socket, 'history:list');
    expect(after.runs.map((r) => [r.seq, r.status, r.endReason])).toEqual([
      [1, 'ended', 'interrupted'],
      [2, 'ended', back.ended.find((e) => e.runId === again.runId)!.reason],
    ]);
  });
});
