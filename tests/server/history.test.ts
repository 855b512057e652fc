/**
 * Run history (issue 5) through the real server, worker pool, engine and SQLite file: runs and steps are
 * recorded, a stored step replays to its stored frame, a peer can look at a step without disturbing
 * others, fork from a step, multi-level undo and redo, and the export routes.
 */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { PNG } from 'pngjs';
import { addMaskStroke, addPoint, readMask, readPoints, readSettings, updateSettings } from '../../contract/room-doc.js';
import type { HistoryRun, HistoryStep, RoomLineage, RoomState, RunEnded, RunFrame } from '../../contract/events.js';
import { TINY_MODEL, call, connectSocket, connectYjs, createRoom, user, useServerFixture, waitFor, type ClientSocket, type YClient } from './helpers.js';

interface Watch {
  socket: ClientSocket;
  frames: RunFrame[];
  ended: RunEnded[];
  images: number;
  history: number;
  /** For each frame received: was its step record already in the database? */
  durable: boolean[];
  state: RoomState;
}

async function pixels(image: Uint8Array | ArrayBuffer | Buffer): Promise<Buffer> {
  return sharp(Buffer.from(image as Uint8Array)).removeAlpha().raw().toBuffer();
}

describe('run history', () => {
  const fx = useServerFixture({ per: 'file' });

  async function join(token: string, name: string): Promise<Watch> {
    const socket = await connectSocket(fx.server.url);
    fx.onCleanup(() => socket.disconnect());
    const w = { socket, frames: [] as RunFrame[], ended: [] as RunEnded[], images: 0, history: 0, durable: [] as boolean[] } as Watch;
    socket.on('run:frame', (frame, ack) => {
      w.frames.push(frame);
      void fx.server.store.getStep(frame.runId, frame.step).then((s) => w.durable.push(!!s));
      ack();
    });
    socket.on('run:ended', (e) => w.ended.push(e));
    socket.on('room:image', () => w.images++);
    socket.on('history:changed', () => w.history++);
    w.state = (await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) })).state;
    return w;
  }

  const MASK_STROKE = { mode: 'flexible' as const, radius: 6, points: [10, 10, 16, 14], by: 'ann' };

  async function ranRoom(maxSteps: number, opts: { mask?: boolean } = {}) {
    const room = await createRoom(fx.server.url, 5);
    const y: YClient = await connectYjs(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, [10, 10], user('ann'));
    addPoint(y.doc, [16, 14], user('ann'));
    if (opts.mask) addMaskStroke(y.doc, MASK_STROKE);
    updateSettings(y.doc, { lr: 0.01, maxSteps });
    await new Promise((r) => setTimeout(r, 100));
    const ann = await join(room.editToken, 'ann');
    const bob = await join(room.viewToken, 'bob');
    const imageBefore = Buffer.from(ann.state.image.bytes as ArrayBuffer);
    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => ann.ended.length && bob.ended.length, 'the run to end', 60_000);
    return { room, y, ann, bob, runId, imageBefore };
  }

  const get = async (path: string) => {
    const res = await fetch(fx.server.url + path);
    return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  };

  it('records every run and step durably, replays a stored step to its stored frame, and exports it', async () => {
    const { room, ann, bob, runId } = await ranRoom(12, { mask: true });
    const steps = ann.ended[0].steps;
    const { runs } = await call<{ runs: HistoryRun[] }>(bob.socket, 'history:list');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ runId, seq: 1, kind: 'drag', status: 'ended', by: { name: 'ann' }, targets: [[16, 14]] });
    expect(['reached', 'max-steps']).toContain(runs[0].endReason);
    expect(runs[0].steps).toBe(steps);

    const stored = await fx.server.store.listSteps(runId);
    expect(stored.map((s) => s.step)).toEqual(stored.map((_, i) => i));
    // A step's record is durable before its frame is sent.
    await waitFor(() => ann.durable.length === ann.frames.length, 'the durability checks');
    expect(ann.durable.every(Boolean)).toBe(true);
    expect(stored.length).toBeGreaterThanOrEqual(steps);
    expect(runs[0].recorded).toBe(stored.length);
    // Tracked handles as broadcast.
    const live = ann.frames.filter((f) => !f.final);
    for (const f of live) expect(stored[f.step].handles).toEqual(f.handles);

    // Replay: the stored latent rendered again through the worker pool gives the stored (lossless) frame.
    for (const s of [stored[0], stored[Math.floor(stored.length / 2)], stored.at(-1)!]) {
      const again = await fx.server.jobs.render({ modelPath: TINY_MODEL, latent: s.latent, format: 'png' });
      const a = await pixels(again.image.bytes);
      const b = await pixels(s.frame!);
      expect(a.equals(b)).toBe(true);
    }
    // The room's image is the last step's frame.
    const current = await get(`/api/rooms/${room.viewToken}/image`);
    expect((await pixels(current.body)).equals(await pixels(stored.at(-1)!.frame!))).toBe(true);

    // Looking at a step is private: nobody else gets frames or events.
    const before = { frames: ann.frames.length, images: ann.images, history: ann.history };
    const mid = Math.floor(stored.length / 2);
    const { step } = await call<{ step: HistoryStep }>(bob.socket, 'history:step', { runId, step: mid });
    expect(step.handles).toEqual(stored[mid].handles);
    expect(step.targets).toEqual([[16, 14]]);
    expect((await pixels(step.image.bytes as ArrayBuffer)).equals(await pixels(stored[mid].frame!))).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect({ frames: ann.frames.length, images: ann.images, history: ann.history }).toEqual(before);
    await expect(call(bob.socket, 'history:step', { runId: 'nope', step: 0 })).rejects.toMatchObject({ code: 'not-found' });

    // Exports, by token.
    const png = await get(`/api/rooms/${room.viewToken}/runs/${runId}/steps/${mid}/frame.png`);
    expect(png.type).toBe('image/png');
    expect((await pixels(png.body)).equals(await pixels(stored[mid].frame!))).toBe(true);
    const latent = await get(`/api/rooms/${room.viewToken}/runs/${runId}/steps/${mid}/latent`);
    expect([...new Float32Array(latent.body.buffer, latent.body.byteOffset, latent.body.byteLength / 4)]).toEqual([...stored[mid].latent]);
    const roomLatent = await get(`/api/rooms/${room.editToken}/latent`);
    expect(roomLatent.body.byteLength).toBe(stored[0].latent.byteLength);
    for (const fmt of ['webp', 'gif'] as const) {
      const anim = await get(`/api/rooms/${room.viewToken}/runs/${runId}/animation.${fmt}?delay=50`);
      expect(anim.status).toBe(200);
      expect(anim.type).toBe(`image/${fmt}`);
      const meta = await sharp(anim.body, { animated: true }).metadata();
      expect(meta.pages).toBe(stored.length);
      expect(meta.width).toBe(32);
      expect(meta.pageHeight).toBe(32);
    }
    const points = await get(`/api/rooms/${room.viewToken}/runs/${runId}/dragbench/points.json`);
    expect(JSON.parse(points.body.toString())).toEqual({ points: [[10, 10], [16, 14]] });
    const mask = PNG.sync.read((await get(`/api/rooms/${room.viewToken}/runs/${runId}/dragbench/mask.png`)).body);
    expect(mask.width).toBe(32);
    // The painted stroke (radius 6 around (10,10)-(16,14)) may change; a far corner may not.
    expect(mask.data[(12 * 32 + 13) * 4]).toBe(255);
    expect(mask.data[(30 * 32 + 30) * 4]).toBe(0);
    const original = await get(`/api/rooms/${room.viewToken}/runs/${runId}/dragbench/original.png`);
    expect(original.type).toBe('image/png');
    // The current state in the same format: the handle moved to its tracked position.
    const nowPoints = JSON.parse((await get(`/api/rooms/${room.viewToken}/dragbench/points.json`)).body.toString());
    expect(nowPoints.points[0]).toEqual(stored.at(-1)!.handles[0]);
    expect(nowPoints.points[1]).toEqual([16, 14]);
    expect((await get(`/api/rooms/not-a-token-at-all/runs/${runId}/animation.webp`)).status).toBe(404);
    expect((await get(`/api/rooms/${room.viewToken}/runs/unknown/animation.webp`)).status).toBe(404);

    // What a run costs in the database (measured per step here, reported per 100 steps).
    const bytes = stored.reduce(
      (n, s) => n + s.latent.byteLength + (s.frame?.byteLength ?? 0) + JSON.stringify([s.handles, s.distances, s.confidences]).length,
      0,
    );
    const frameBytes = stored.reduce((n, s) => n + (s.frame?.byteLength ?? 0), 0);
    console.log(
      `[numbers] ${stored.length} steps stored: ${(bytes / stored.length).toFixed(0)} B/step ` +
        `(latent ${stored[0].latent.byteLength} B, frame ${(frameBytes / stored.length).toFixed(0)} B lossless webp 32 px); ` +
        `~${((bytes / stored.length) * 100 / 1024).toFixed(1)} KiB per 100 steps`,
    );
  });

  it('forks a new linked room from a middle step: its latent, image, handles, targets, settings and mask', async () => {
    const { room, ann, bob, runId } = await ranRoom(10, { mask: true });
    const stored = await fx.server.store.listSteps(runId);
    const mid = Math.floor(stored.length / 2);
    // A watcher may fork: the fork is a new room of theirs, the parent is unchanged.
    const fork = await call<{ roomId: string; editToken: string; viewToken: string }>(bob.socket, 'history:fork', { runId, step: mid });
    await waitFor(() => ann.history > 0, 'the parent to hear about its fork');
    const child = (await fx.server.store.get(fork.roomId))!;
    expect(child.parentRoomId).toBe(room.roomId);
    expect(child.forkRunId).toBe(runId);
    expect(child.forkStep).toBe(mid);
    expect([...child.latent]).toEqual([...stored[mid].latent]);
    expect((await pixels(child.image)).equals(await pixels(stored[mid].frame!))).toBe(true);

    const y = await connectYjs(fx.server.url, fork.roomId, fork.editToken);
    fx.onCleanup(y.destroy);
    await waitFor(() => readPoints(y.doc).length === 1, 'the fork\'s points');
    expect(readPoints(y.doc)[0]).toMatchObject({ handle: stored[mid].handles[0], target: [16, 14] });
    expect(readSettings(y.doc)).toMatchObject({ lr: 0.01, maxSteps: 10 });
    // The mask comes back as editable strokes, not pixels.
    expect(readMask(y.doc).map(({ id: _id, ...s }) => s)).toEqual([MASK_STROKE]);

    const carol = await join(fork.editToken, 'carol');
    const childLineage = (await call<{ lineage: RoomLineage }>(carol.socket, 'history:list')).lineage;
    expect(childLineage.parent).toMatchObject({ roomId: room.roomId, runId, step: mid });
    const parentLineage = (await call<{ lineage: RoomLineage; runs: HistoryRun[] }>(ann.socket, 'history:list')).lineage;
    expect(parentLineage.forks.map((f) => f.roomId)).toEqual([fork.roomId]);
    // Ids and titles only: history:list hands out no link (tests/server/link-authority.test.ts).
    expect(JSON.stringify([childLineage, parentLineage])).not.toMatch(/Token/);

    // The fork can run on from there.
    await call(carol.socket, 'run:start');
    await waitFor(() => carol.ended.length, 'the fork\'s run', 60_000);
    expect(['reached', 'max-steps']).toContain(carol.ended[0].reason);
  });

  it('undoes drags one by one for everyone, redoes them in order, and a new drag clears redo', async () => {
    const { room, y, ann, bob, runId: first, imageBefore } = await ranRoom(8);
    const handle = () => readPoints(y.doc)[0].handle;
    const state = async () => {
      const r = (await fx.server.store.get(room.roomId))!;
      return { image: Buffer.from(r.image), latent: [...r.latent], handle: handle() };
    };
    const afterFirst = await state();
    expect(afterFirst.handle).not.toEqual([10, 10]);
    // A second drag from there, with the target further on.
    const second = (await call<{ runId: string }>(ann.socket, 'run:start')).runId;
    await waitFor(() => ann.ended.length === 2, 'the second run', 60_000);
    const afterSecond = await state();
    expect(afterSecond.latent).not.toEqual(afterFirst.latent);
    const undoRedo = async () => (await call<{ undoRedo: { undo: string | null; redo: string | null } }>(bob.socket, 'history:list')).undoRedo;
    expect(await undoRedo()).toEqual({ undo: second, redo: null });

    await expect(call(bob.socket, 'history:undo')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(call(bob.socket, 'history:redo')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(call(ann.socket, 'history:redo')).rejects.toThrow('invalid: nothing to redo');

    const expectState = async (want: { image: Buffer; latent: number[]; handle: number[] }, what: string) => {
      await waitFor(() => handle()[0] === want.handle[0] && handle()[1] === want.handle[1], `the handle ${what}`);
      const now = await state();
      expect(now.image.equals(want.image)).toBe(true);
      expect(now.latent).toEqual(want.latent);
    };
    // Two undos go back two drags; bob sees each image.
    const imagesBefore = bob.images;
    expect(await call(ann.socket, 'history:undo')).toMatchObject({ undid: second });
    await waitFor(() => bob.images > imagesBefore, 'the restored image at bob');
    await expectState(afterFirst, 'after the first drag');
    expect(await call(ann.socket, 'history:undo')).toMatchObject({ undid: first });
    await expectState({ ...afterFirst, image: imageBefore, latent: [...(await fx.server.store.getRun(first))!.latentBefore], handle: [10, 10] }, 'at its start');
    await expect(call(ann.socket, 'history:undo')).rejects.toThrow('invalid: nothing to undo');
    expect(await undoRedo()).toEqual({ undo: null, redo: first });

    // Redo re-applies them in order.
    expect(await call(ann.socket, 'history:redo')).toMatchObject({ redid: first });
    await expectState(afterFirst, 'after redoing the first drag');
    expect(await call(ann.socket, 'history:redo')).toMatchObject({ redid: second });
    await expectState(afterSecond, 'after redoing the second drag');
    expect(await undoRedo()).toEqual({ undo: second, redo: null });

    // Undo, then a new drag: nothing left to redo.
    await call(ann.socket, 'history:undo');
    await expectState(afterFirst, 'after the first drag again');
    await call(ann.socket, 'run:start');
    await waitFor(() => ann.ended.length === 3, 'the third run', 60_000);
    const { runs, undoRedo: after } = await call<{ runs: HistoryRun[]; undoRedo: { undo: string | null; redo: string | null } }>(bob.socket, 'history:list');
    expect(runs.map((r) => r.kind)).toEqual(['drag', 'drag', 'undo', 'undo', 'redo', 'redo', 'undo', 'drag']);
    expect(after).toEqual({ undo: runs.at(-1)!.runId, redo: null });
    await expect(call(ann.socket, 'history:redo')).rejects.toThrow('nothing to redo');
  });
});
