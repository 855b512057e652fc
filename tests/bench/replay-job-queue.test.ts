// The load benchmark's replay queue: a run recorded with the real engine (tiny 32 px model) comes back in
// order with the real bytes, any number of drags run at once, cancel and a smaller step cap end it early,
// and a studio server runs rooms on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../server/jobs/worker-pool.js';
import type { DragStepMessage, GanDragJobRequest } from '../../server/jobs/worker-protocol.js';
import { DEFAULT_RUN_SETTINGS } from '../../contract/run-settings.js';
import { addPoint } from '../../contract/room-doc.js';
import type { RunEnded, RunFrame } from '../../contract/events.js';
import { recordRun, ReplayJobQueue, type RecordedRun } from '../../bench/load/replay-job-queue.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, TINY_MODEL, user, waitFor } from '../server/helpers.js';

const settings = { ...DEFAULT_RUN_SETTINGS, maxSteps: 6 };

describe('ReplayJobQueue', () => {
  let recording: RecordedRun;
  beforeAll(async () => {
    const pool = new WorkerPool({ size: 1 });
    try {
      recording = await recordRun(pool, { modelPath: TINY_MODEL, seed: 7, points: [{ handle: [6, 16], target: [26, 16] }], settings });
    } finally {
      await pool.close();
    }
  });

  const job = (maxSteps = settings.maxSteps): GanDragJobRequest => ({
    modelPath: TINY_MODEL, latent: recording.renders.png!.latent, points: recording.points, settings: { ...settings, maxSteps }, stallSteps: 0,
    frameFormat: 'webp', frameQuality: 80, record: true,
  });

  it('records a real run: steps in order with frames, latents and stored frames', () => {
    expect(recording.steps.length).toBeGreaterThanOrEqual(3);
    expect(recording.steps.map((s) => s.step)).toEqual(recording.steps.map((_, i) => i));
    for (const s of recording.steps) {
      expect(s.image?.mime).toBe('image/webp');
      expect(s.stored?.mime).toBe('image/webp');
      expect(s.latent?.length).toBe(recording.renders.png!.latent.length);
    }
    expect(recording.renders.png!.image.mime).toBe('image/png');
    expect(recording.renders.webp!.image.mime).toBe('image/webp');
  });

  it('replays every step in order with copies of the real bytes, concurrently, then the recorded end', async () => {
    const q = new ReplayJobQueue({ recording, stepMs: 2 });
    const runs = [0, 1, 2].map(() => {
      const got: DragStepMessage[] = [];
      let started = false;
      const h = q.drag(job(), { onStart: () => (started = true), onStep: (s) => got.push(s) });
      return { got, h, started: () => started };
    });
    expect(runs.every((r) => r.started())).toBe(true);
    expect(q.running).toBe(3);
    for (const r of runs) {
      const end = await r.h.done;
      expect(end.reason).toBe(recording.end.reason);
      expect(end.steps).toBe(recording.end.steps);
      expect(end.final?.image.mime).toBe('image/png');
      expect(r.got.map((s) => s.step)).toEqual(recording.steps.map((s) => s.step));
      r.got.forEach((s, i) => {
        expect(Buffer.from(s.image!.bytes).equals(Buffer.from(recording.steps[i].image!.bytes))).toBe(true);
        expect(s.image!.bytes).not.toBe(recording.steps[i].image!.bytes);
        expect(s.handles).toEqual(recording.steps[i].handles);
      });
    }
    expect(q.running).toBe(0);
    expect(q.counts).toEqual({ drags: 3, steps: 3 * recording.steps.length });
    await q.close();
  });

  it('cancel stops the replay within one step, ending with the last sent step as the final state', async () => {
    const q = new ReplayJobQueue({ recording, stepMs: 30 });
    const got: number[] = [];
    // Cancelled as the first step arrives (the coordinator may cancel from any callback).
    const h = q.drag(job(), {
      onStep: (s) => {
        got.push(s.step);
        h.cancel();
        h.cancel();
      },
    });
    const end = await h.done;
    expect(end.reason).toBe('cancelled');
    expect(got).toEqual([0]);
    expect(end.steps).toBe(1);
    expect(end.final?.image.mime).toBe('image/png');
    expect(end.final?.handles).toEqual(recording.steps[0].handles);
    await new Promise((r) => setTimeout(r, 80));
    expect(got).toEqual([0]);
    // Cancelled before its first step: no final state.
    const h2 = q.drag(job(), { onStep: () => {} });
    h2.cancel();
    expect(await h2.done).toEqual({ reason: 'cancelled', steps: 0 });
    await q.close();
  });

  it('ends at a smaller step cap with max-steps; close cancels running replays; renders come from the recording', async () => {
    const q = new ReplayJobQueue({ recording, stepMs: 2 });
    const got: number[] = [];
    const end = await q.drag(job(1), { onStep: (s) => got.push(s.step) }).done;
    expect(got).toEqual([0, 1]);
    expect(end).toMatchObject({ reason: 'max-steps', steps: 1 });
    // Latents and stored frames only when the job records (and not with stripRecords).
    const plain: DragStepMessage[] = [];
    await q.drag({ ...job(1), record: false }, { onStep: (s) => plain.push(s) }).done;
    const stripped: DragStepMessage[] = [];
    await new ReplayJobQueue({ recording, stepMs: 2, stripRecords: true }).drag(job(1), { onStep: (s) => stripped.push(s) }).done;
    for (const s of [...plain, ...stripped]) {
      expect(s.image?.mime).toBe('image/webp');
      expect(s.latent).toBeUndefined();
      expect(s.stored).toBeUndefined();
    }
    const slow = new ReplayJobQueue({ recording, stepMs: 1000 });
    const h = slow.drag(job(), { onStep: () => {} });
    await slow.close();
    expect((await h.done).reason).toBe('cancelled');
    expect((await slow.drag(job(), { onStep: () => {} }).done).error?.code).toBe('pool-closed');
    const r = await q.render({ modelPath: TINY_MODEL, seed: 1, format: 'png' });
    expect(Buffer.from(r.image.bytes).equals(Buffer.from(recording.renders.png!.image.bytes))).toBe(true);
    await expect(q.render({ modelPath: TINY_MODEL, seed: 1, format: 'jpeg' })).rejects.toMatchObject({ code: 'replay-no-render' });
    await q.close();
  });

  it('runs a studio room: run:start gets the replayed frames in order, then run:ended', async () => {
    const tmp = tempDir();
    const server = await startTestServer(`${tmp.dir}/replay.db`, { jobs: new ReplayJobQueue({ recording, stepMs: 5 }) });
    try {
      const room = await createRoom(server.url);
      const y = await connectYjs(server.url, room.roomId, room.editToken);
      const u = user('replay');
      addPoint(y.doc, [6, 16], u);
      addPoint(y.doc, [26, 16], u);
      const socket = await connectSocket(server.url);
      await call(socket, 'room:join', { token: room.editToken, user: u });
      const frames: RunFrame[] = [];
      socket.on('run:frame', (f: RunFrame, ack: () => void) => {
        frames.push(f);
        ack();
      });
      const ended = new Promise<RunEnded>((ok) => socket.on('run:ended', ok));
      // The points reach the server asynchronously: run:start refuses the room until they have.
      for (let i = 0; ; i++) {
        const ok = await call(socket, 'run:start').then(() => true, (err: { code?: string }) => {
          if (err.code !== 'no-points' || i > 100) throw err;
          return false;
        });
        if (ok) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const end = await ended;
      expect(end).toMatchObject({ reason: recording.end.reason, steps: recording.end.steps });
      // The final frame goes through the client's flow control, so it may come after run:ended.
      await waitFor(() => frames.some((f) => f.final), 'the final frame');
      const steps = frames.filter((f) => !f.final).map((f) => f.step);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      expect(frames.at(-1)?.final).toBe(true);
      expect(frames.every((f) => typeof f.producedAt === 'number')).toBe(true);
      socket.disconnect();
      y.destroy();
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });
});
