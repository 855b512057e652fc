/**
 * Drag runs through the whole stack: Socket.IO clients, the shared document, the run coordinator, the
 * worker pool and the real engine on the tiny 32 px test model.
 */
import { describe, expect, it } from 'vitest';
import { addPoint, readPoints, updateSettings } from '../../contract/room-doc.js';
import type { RoomState, RunEnded, RunFrame, RunQueueState } from '../../contract/events.js';
import { call, connectSocket, connectYjs, createRoom, user, useServerFixture, waitFor, type ClientSocket, type YClient } from './helpers.js';

interface Watch {
  socket: ClientSocket;
  frames: RunFrame[];
  ended: RunEnded[];
  /** For each run:ended: had the run's final frame already arrived? */
  finalBeforeEnd: boolean[];
  queue: RunQueueState[];
  images: number;
}

const dist = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1]);

describe('drag runs', () => {
  const fx = useServerFixture({ per: 'file' });

  async function join(token: string, name: string, opts: { ackDelayMs?: number } = {}): Promise<Watch & { state: RoomState }> {
    const socket = await connectSocket(fx.server.url);
    fx.onCleanup(() => socket.disconnect());
    const w: Watch = { socket, frames: [], ended: [], finalBeforeEnd: [], queue: [], images: 0 };
    socket.on('run:frame', (frame, ack) => {
      w.frames.push(frame);
      if (opts.ackDelayMs) setTimeout(ack, opts.ackDelayMs);
      else ack();
    });
    socket.on('run:ended', (e) => {
      w.ended.push(e);
      w.finalBeforeEnd.push(w.frames.at(-1)?.final === true);
    });
    socket.on('run:queue', (q) => w.queue.push(q));
    socket.on('room:image', () => w.images++);
    const { state } = await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) });
    return Object.assign(w, { state });
  }

  async function roomWithPair(handle: [number, number], target: [number, number], settings: Parameters<typeof updateSettings>[1]) {
    const room = await createRoom(fx.server.url, 5);
    const y: YClient = await connectYjs(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, handle, user('ann'));
    addPoint(y.doc, target, user('ann'));
    updateSettings(y.doc, settings);
    // The server's copy must have the pair before Start snapshots it.
    await new Promise((r) => setTimeout(r, 100));
    return { room, y };
  }

  it('streams every step to both clients and ends with the handles closer to their targets', async () => {
    const { room, y } = await roomWithPair([10, 10], [16, 14], { lr: 0.01, maxSteps: 25 });
    const ann = await join(room.editToken, 'ann');
    const bob = await join(room.viewToken, 'bob');
    const imageBefore = Buffer.from(ann.state.image.bytes as ArrayBuffer);
    const t0 = performance.now();
    const started = await call<{ runId: string; position: number }>(ann.socket, 'run:start');
    expect(started.position).toBe(0);
    await waitFor(() => ann.ended.length && bob.ended.length, 'the run to end at both clients', 60_000);
    const wall = performance.now() - t0;
    for (const w of [ann, bob]) {
      expect(w.ended[0].runId).toBe(started.runId);
      expect(['reached', 'max-steps']).toContain(w.ended[0].reason);
      expect(w.frames.length).toBeGreaterThan(1);
      expect(w.frames.at(-1)!.final).toBe(true);
      expect(w.images).toBe(1);
    }
    // Steps arrive in order. A client may skip intermediate frames when its acknowledgements lag behind
    // the engine (a loaded machine), so only order and the first step are asserted, not completeness.
    const steps = ann.frames.filter((f) => !f.final).map((f) => f.step);
    expect(steps[0]).toBe(0);
    expect(steps).toEqual([...steps].sort((x, y) => x - y));
    const first = ann.frames[0];
    const last = ann.frames.at(-1)!;
    expect(dist(last.handles[0], last.targets[0])).toBeLessThan(dist(first.handles[0], first.targets[0]));
    // Frames are compact binary images, far below Socket.IO's 1 MB limit.
    const sizes = ann.frames.map((f) => (f.image.bytes as ArrayBuffer).byteLength);
    expect(Math.max(...sizes)).toBeLessThan(20_000);
    expect(last.image.mime).toBe('image/webp');
    // The handle moved to its tracked position in the shared document, for every peer.
    await waitFor(() => dist(readPoints(y.doc)[0].handle, [10, 10]) > 0, 'the handle to move in the document');
    expect(readPoints(y.doc)[0].handle).toEqual(last.handles[0]);
    // The room's image changed and a late joiner gets it at once.
    const late = await join(room.viewToken, 'carol');
    expect(Buffer.from(late.state.image.bytes as ArrayBuffer).equals(imageBefore)).toBe(false);
    expect(late.state.liveFrame).toBeNull();
    const stats = fx.server.runs.stats.at(-1)!;
    console.log(
      `[numbers] ${stats.steps} steps in ${wall.toFixed(0)} ms; step latency through the pool ${stats.meanStepMs.toFixed(1)} ms ` +
        `(worker ${stats.meanWorkerStepMs.toFixed(1)} ms); frame ${stats.meanFrameBytes.toFixed(0)} B mean, ${stats.maxFrameBytes} B max (32 px webp)`,
    );
  });

  it('Stop cancels within a step; a client joining mid-run gets the current frame at once', async () => {
    // The smallest learning rate keeps the handle near its start, so the run cannot reach its target (and end
    // by itself) before the Stop on a fast machine: it runs until stopped.
    const { room } = await roomWithPair([4, 4], [28, 28], { lr: 0.0001, maxSteps: 1000 });
    const ann = await join(room.editToken, 'ann');
    await call(ann.socket, 'run:start');
    await waitFor(() => ann.frames.length >= 3, 'a few frames');
    const late = await join(room.viewToken, 'dave');
    expect(late.state.liveFrame).not.toBeNull();
    expect(late.state.liveFrame!.step).toBeGreaterThanOrEqual(2);
    expect(late.state.runs.current?.state).toBe('running');
    await waitFor(() => late.frames.length >= 1, 'frames at the late joiner');
    // A watcher cannot stop (or start) a run.
    await expect(call(late.socket, 'run:stop')).rejects.toMatchObject({ code: 'forbidden' });
    const t0 = performance.now();
    const { cancelled } = await call<{ cancelled: number }>(ann.socket, 'run:stop');
    // The last step that had reached the server when it took the Stop, from the last queue state it broadcast
    // with the run in it (the state saying the run is gone can arrive before the ack, since run:stop awaits the
    // queue's count); clients' frames may lag behind it while step records are written.
    const stepAtStop = [...ann.queue].reverse().find((q) => q.current)!.current!.step;
    expect(cancelled).toBe(1);
    await waitFor(() => ann.ended.length, 'the run to end', 10_000);
    const stopMs = performance.now() - t0;
    expect(ann.ended[0].reason).toBe('cancelled');
    expect(ann.ended[0].steps).toBeLessThan(1000);
    // Within one step: at most a step or two past the one we saw (frames in flight), never a long tail.
    expect(ann.ended[0].steps).toBeLessThanOrEqual(stepAtStop + 3);
    expect(ann.frames.at(-1)!.final).toBe(true);
    await waitFor(() => late.ended.length, 'the end at the late joiner');
    expect(late.frames.at(-1)!.final).toBe(true);
    console.log(`[numbers] stop took ${stopMs.toFixed(0)} ms (run at step ${stepAtStop})`);
  });

  it('queues a second Start behind the running one and shows the position to everyone', async () => {
    const { room } = await roomWithPair([6, 6], [20, 20], { lr: 0.002, maxSteps: 8 });
    const ann = await join(room.editToken, 'ann');
    const bob = await join(room.editToken, 'bob');
    const first = await call<{ runId: string; position: number }>(ann.socket, 'run:start');
    const second = await call<{ runId: string; position: number }>(bob.socket, 'run:start');
    expect(first.position).toBe(0);
    expect(second.position).toBe(1);
    await waitFor(() => ann.queue.some((q) => q.current?.runId === first.runId && q.queued[0]?.runId === second.runId), 'the queue at ann');
    await waitFor(() => ann.ended.length === 2 && bob.ended.length === 2, 'both runs to end', 60_000);
    expect(ann.ended.map((e) => e.runId)).toEqual([first.runId, second.runId]);
    expect(ann.queue.at(-1)).toMatchObject({ current: null, queued: [] });
    // Later states carry higher versions (clients keep the newest; a join's answer can be overtaken).
    const versions = [ann.state.runs, ...ann.queue].map((q) => q.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('lets a slow client skip intermediate frames but always delivers the final one, before the run ends', async () => {
    const { room } = await roomWithPair([10, 10], [16, 14], { lr: 0.01, maxSteps: 20 });
    const fast = await join(room.editToken, 'fast');
    const slow = await join(room.viewToken, 'slow', { ackDelayMs: 400 });
    await call(fast.socket, 'run:start');
    await waitFor(() => fast.ended.length && slow.ended.length, 'the run to end at the slow client', 60_000);
    expect(slow.frames.length).toBeLessThan(fast.frames.length);
    expect(slow.frames.at(-1)!.step).toBe(fast.frames.at(-1)!.step);
    // run:ended waits behind the slow client's unacknowledged frames.
    expect(slow.finalBeforeEnd).toEqual([true]);
    expect(fast.finalBeforeEnd).toEqual([true]);
  });

  it('serves a seed preview between the steps of a running drag instead of after it', async () => {
    const { room } = await roomWithPair([4, 4], [28, 28], { lr: 0.002, maxSteps: 1000 });
    const ann = await join(room.editToken, 'ann');
    await call(ann.socket, 'run:start');
    await waitFor(() => ann.frames.length >= 2, 'the run to be going');
    const t0 = performance.now();
    const { image } = await call<{ image: { mime: string; width: number } }>(ann.socket, 'seed:preview', { model: 'tiny', seed: 1234 });
    const previewMs = performance.now() - t0;
    expect(image).toMatchObject({ mime: 'image/webp', width: 32 });
    expect(ann.ended).toHaveLength(0);
    await call(ann.socket, 'run:stop');
    await waitFor(() => ann.ended.length, 'the run to stop');
    console.log(`[numbers] preview during a drag: ${previewMs.toFixed(0)} ms`);
    expect(previewMs).toBeLessThan(5_000);
  });

  it('refuses Start without a complete pair, and from a watcher', async () => {
    const room = await createRoom(fx.server.url, 6);
    const ann = await join(room.editToken, 'ann');
    await expect(call(ann.socket, 'run:start')).rejects.toMatchObject({ code: 'no-points' });
    const bob = await join(room.viewToken, 'bob');
    await expect(call(bob.socket, 'run:start')).rejects.toMatchObject({ code: 'forbidden' });
  });
});
