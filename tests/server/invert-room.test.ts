/**
 * A room from a photo through the real server, worker pool, engine and SQLite file: the upload creates the
 * room and queues the inversion, its frames reach every participant, it is the room's first timeline entry
 * (every step's latent recorded, so replay and fork work), the room ends on its last latent, and drags run
 * from there. Stop keeps the last good latent.
 */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { HistoryRun, HistoryStep, RoomState, RunEnded, RunFrame } from '../../contract/events.js';
import { addPoint, readSettings, updateSettings } from '../../contract/room-doc.js';
import { DEFAULT_RUN_SETTINGS } from '../../contract/run-settings.js';
import type { PhotoRoomCreated } from '../../contract/photo-room.js';
import type { WorkerPool } from '../../server/jobs/worker-pool.js';
import { call, connectSocket, connectYjs, createRoom, user, useServerFixture, waitFor, type ClientSocket } from './helpers.js';
import { quadrants, upload } from './photo-upload-helpers.js';

interface Watch {
  socket: ClientSocket;
  frames: RunFrame[];
  ended: RunEnded[];
  state: RoomState;
}

describe('a room from a photo', () => {
  const fx = useServerFixture({ per: 'file' });

  async function join(token: string, name: string): Promise<Watch> {
    const socket = await connectSocket(fx.server.url);
    fx.onCleanup(() => socket.disconnect());
    const w = { socket, frames: [] as RunFrame[], ended: [] as RunEnded[] } as Watch;
    socket.on('run:frame', (frame, ack) => {
      w.frames.push(frame);
      ack();
    });
    socket.on('run:ended', (e) => w.ended.push(e));
    w.state = (await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) })).state;
    if (w.state.liveFrame) w.frames.push(w.state.liveFrame);
    return w;
  }

  async function photoRoom(params: Record<string, string>): Promise<PhotoRoomCreated> {
    const png = await quadrants(48, 40).png().toBuffer();
    const res = await upload(fx.server.url, png, params);
    expect(res.status, JSON.stringify(res.answer)).toBe(201);
    return res.answer as PhotoRoomCreated;
  }

  /** The run's record once it has ended (it may end before anyone joins). */
  async function endedRun(runId: string) {
    for (const t0 = Date.now(); Date.now() - t0 < 60_000; await new Promise((r) => setTimeout(r, 50))) {
      const run = await fx.server.store.getRun(runId);
      if (run?.status === 'ended') return run;
    }
    throw new Error(`run ${runId} did not end`);
  }

  /**
   * Keeps the only worker busy with a long drag in another room until `release` is called, so a photo's
   * inversion queued meanwhile cannot end before its watchers have joined.
   */
  async function occupyWorker(): Promise<{ release: () => Promise<void> }> {
    const room = await createRoom(fx.server.url);
    const y = await connectYjs(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, [4, 4], user('zed'));
    addPoint(y.doc, [28, 28], user('zed'));
    updateSettings(y.doc, { lr: 0.0001, maxSteps: 1000 });
    await new Promise((r) => setTimeout(r, 200));
    const zed = await join(room.editToken, 'zed');
    await call(zed.socket, 'run:start');
    await waitFor(() => zed.frames.length, 'the blocking drag to start', 60_000);
    return { release: async () => void (await call(zed.socket, 'run:stop')) };
  }

  const latentOf = async (roomId: string) => (await fx.server.store.get(roomId))!.latent;

  it('streams the inversion to everyone, records it as the first entry, then forks and drags from it', async () => {
    const blocker = await occupyWorker();
    const created = await photoRoom({ wSteps: '20', wPlusSteps: '10', crop: '4,0,40,40' });
    expect(created.crop).toEqual({ left: 4, top: 0, width: 40, height: 40 });
    expect(created.notices).toEqual([]);
    // The room shows the fitted photo until the inversion writes its result.
    const stored = await fx.server.store.get(created.roomId);
    expect(stored!.imageType).toBe('image/png');
    expect(await sharp(Buffer.from(stored!.image)).metadata()).toMatchObject({ width: 32, height: 32 });
    const ann = await join(created.editToken, 'ann');
    const bob = await join(created.viewToken, 'bob');
    expect(ann.state.runs.current).toMatchObject({ runId: created.runId, state: 'queued', maxSteps: 30 });
    await blocker.release();
    await waitFor(() => ann.ended.length && bob.ended.length, 'the inversion to end', 120_000);
    for (const w of [ann, bob]) {
      expect(w.ended[0]).toMatchObject({ runId: created.runId, reason: 'done', steps: 30 });
      const frames = w.frames.filter((f) => f.runId === created.runId!);
      expect(frames.length).toBeGreaterThan(0);
      expect(frames.every((f) => f.inversion && f.maxSteps === 30 && f.handles.length === 0)).toBe(true);
      expect(frames.at(-1)!.final).toBe(true);
    }
    const { runs } = await call<{ runs: HistoryRun[] }>(ann.socket, 'history:list');
    expect(runs[0]).toMatchObject({ runId: created.runId, kind: 'invert', status: 'ended', endReason: 'done', steps: 30, recorded: 30 });
    // The room's latent is the last step's; the inversion's "before" image is the fitted photo.
    const steps = await fx.server.store.listSteps(created.runId!);
    expect(steps.map((s) => s.step)).toEqual([...Array(30).keys()]);
    expect(Array.from(await latentOf(created.roomId))).toEqual(Array.from(steps.at(-1)!.latent));
    const run = await fx.server.store.getRun(created.runId!);
    expect(Buffer.from(run!.imageBefore).equals(Buffer.from(stored!.image))).toBe(true);
    // The fit got closer: the last frame's loss is below the first's.
    const losses = ann.frames.filter((f) => f.inversion && !f.final).map((f) => f.inversion!.loss);
    if (losses.length > 1) expect(losses.at(-1)!).toBeLessThan(losses[0]);

    // Replay a step, and fork from it: the fork starts from that step's latent.
    const { step } = await call<{ step: HistoryStep }>(bob.socket, 'history:step', { runId: created.runId, step: 7 });
    expect(step.step).toBe(7);
    const fork = await call<{ roomId: string }>(bob.socket, 'history:fork', { runId: created.runId, step: 7 });
    expect(Array.from(await latentOf(fork.roomId))).toEqual(Array.from(steps[7].latent));
    // The fork's drag settings are the defaults, not the inversion's (whose lr is the fit's).
    const forkRoom = (await fx.server.store.get(fork.roomId))!;
    const fy = await connectYjs(fx.server.url, fork.roomId, forkRoom.editToken);
    fx.onCleanup(fy.destroy);
    expect(readSettings(fy.doc)).toEqual(DEFAULT_RUN_SETTINGS);

    // A drag from the inverted latent.
    const y = await connectYjs(fx.server.url, created.roomId, created.editToken);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, [10, 10], user('ann'));
    addPoint(y.doc, [14, 12], user('ann'));
    updateSettings(y.doc, { maxSteps: 5 });
    await new Promise((r) => setTimeout(r, 200));
    const { runId: dragId } = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => ann.ended.find((e) => e.runId === dragId), 'the drag to end', 60_000);
    const drag = ann.ended.find((e) => e.runId === dragId)!;
    expect(drag.reason).not.toBe('error');
    const dragRun = await fx.server.store.getRun(dragId);
    expect(Array.from(dragRun!.latentBefore)).toEqual(Array.from(steps.at(-1)!.latent));
  }, 240_000);

  it('Stop mid-inversion keeps the last good latent and its image', async () => {
    const created = await photoRoom({ wSteps: '3000', wPlusSteps: '0' });
    const ann = await join(created.editToken, 'ann');
    await waitFor(() => ann.frames.some((f) => f.runId === created.runId && f.step >= 4), 'a few inversion frames', 120_000);
    const { cancelled } = await call<{ cancelled: number }>(ann.socket, 'run:stop');
    expect(cancelled).toBe(1);
    await waitFor(() => ann.ended.length, 'the inversion to stop', 60_000);
    expect(ann.ended[0].reason).toBe('cancelled');
    const steps = await fx.server.store.listSteps(created.runId!);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.length).toBeLessThan(3000);
    const room = (await fx.server.store.get(created.roomId))!;
    expect(Array.from(room.latent)).toEqual(Array.from(steps.at(-1)!.latent));
    // Its image is the render of that latent, the same as the stored last frame.
    const last = steps.at(-1)!;
    expect(last.frame).not.toBeNull();
    const a = await sharp(Buffer.from(room.image)).removeAlpha().raw().toBuffer();
    const b = await sharp(Buffer.from(last.frame!)).removeAlpha().raw().toBuffer();
    expect(a.equals(b)).toBe(true);
    const { runs } = await call<{ runs: HistoryRun[] }>(ann.socket, 'history:list');
    expect(runs[0]).toMatchObject({ kind: 'invert', endReason: 'cancelled', recorded: steps.length });
  }, 240_000);

  it('a failed inversion says why and leaves the room usable from its last good state', async () => {
    // The face-feature loss on a model it does not suit: refused in the worker before any step.
    const unsuited = await photoRoom({ loss: 'detector' });
    expect(await endedRun(unsuited.runId!)).toMatchObject({ endReason: 'error', error: expect.stringMatching(/face-feature loss does not suit the model/) });
    const ann = await join(unsuited.editToken, 'ann');
    const y = await connectYjs(fx.server.url, unsuited.roomId, unsuited.editToken);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, [10, 10], user('ann'));
    addPoint(y.doc, [14, 12], user('ann'));
    updateSettings(y.doc, { maxSteps: 3 });
    await new Promise((r) => setTimeout(r, 200));
    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => ann.ended.find((e) => e.runId === runId), 'the drag to end', 60_000);
    expect(ann.ended.find((e) => e.runId === runId)!.reason).not.toBe('error');

    // The worker dies mid-inversion: the room takes the last recorded step's latent.
    const crashed = await photoRoom({ wSteps: '3000', wPlusSteps: '0' });
    const bob = await join(crashed.editToken, 'bob');
    await waitFor(() => bob.frames.some((f) => f.runId === crashed.runId && f.step >= 4), 'a few inversion frames', 120_000);
    await (fx.server.jobs as WorkerPool).threads()[0].terminate();
    await waitFor(() => bob.ended.length, 'the inversion to end', 60_000);
    expect(bob.ended[0]).toMatchObject({ reason: 'error', error: { code: 'worker-crashed' } });
    const steps = await fx.server.store.listSteps(crashed.runId!);
    expect(steps.length).toBeGreaterThan(0);
    expect(Array.from(await latentOf(crashed.roomId))).toEqual(Array.from(steps.at(-1)!.latent));
  }, 240_000);
});
