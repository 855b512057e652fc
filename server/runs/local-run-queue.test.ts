/**
 * The in-process run queue on its own: one run at a time per room, rooms taking turns for the workers, positions
 * as participants see them, the limits, and Stop. Turns here are promises the test settles by hand.
 */
import { describe, expect, it } from 'vitest';
import { LocalRunQueue } from './local-run-queue.js';
import type { QueuedRun } from './run-queue.js';

const LIMITS = { queuedRunsPerRoom: 3, runsPerUser: 4, runsPerAddress: 5, runsWaiting: 10 };

function harness(slots = 1) {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const freeWorker = new Map<string, () => void>();
  const changed: string[] = [];
  const queue = new LocalRunQueue(
    { limits: LIMITS, slots: () => slots, retryAfterSeconds: () => 7 },
    {
      turn: (run, workerFree) => {
        started.push(run.info.runId);
        freeWorker.set(run.info.runId, workerFree);
        run.info.state = 'running';
        return new Promise<void>((resolve) => finish.set(run.info.runId, resolve));
      },
      changed: (roomId) => changed.push(roomId),
    },
  );
  let n = 0;
  const run = (roomId: string, connection = `c${n}`, address = `a${n}`): QueuedRun => ({
    roomId, info: { runId: `${roomId}-${++n}`, by: null, state: 'queued', position: 0, maxSteps: 0, step: 0 }, by: null,
    owner: { connection, address }, cancelled: false,
  });
  const end = async (runId: string) => {
    finish.get(runId)!();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { queue, run, started, end, freeWorker, changed, tick: () => new Promise((r) => setTimeout(r, 0)) };
}

describe('LocalRunQueue', () => {
  it('runs one run per room in order, and gives a freed worker to the rooms in turn', async () => {
    const h = harness(1);
    const a1 = h.run('A'), a2 = h.run('A'), b1 = h.run('B'), c1 = h.run('C');
    expect(h.queue.enqueue(a1)).toBe(0);
    expect(h.queue.enqueue(a2)).toBe(1);
    expect(h.queue.enqueue(b1)).toBe(0);
    expect(h.queue.enqueue(c1)).toBe(0);
    await h.tick();
    expect(h.started).toEqual(['A-1']);
    // B and C wait for the worker, B first; A's second run waits behind its first.
    expect(h.queue.state('B').current).toMatchObject({ runId: 'B-3', state: 'queued', position: 1 });
    expect(h.queue.state('C').current).toMatchObject({ runId: 'C-4', state: 'queued', position: 2 });
    expect(h.queue.state('A')).toMatchObject({ current: { runId: 'A-1', state: 'running' }, queued: [{ runId: 'A-2', position: 1 }] });
    await h.end('A-1');
    // A goes to the back: B, C, then A's second run.
    await h.end('B-3');
    await h.end('C-4');
    await h.end('A-2');
    expect(h.started).toEqual(['A-1', 'B-3', 'C-4', 'A-2']);
    expect(h.queue.busy('A') || h.queue.busy('B') || h.queue.busy('C')).toBe(false);
    const versions = ['A', 'B'].map((r) => h.queue.state(r).version);
    expect(versions[1]).toBeGreaterThan(versions[0]);
  });

  it("takes the worker for another room once the run's job has left it, before the run has finished ending", async () => {
    const h = harness(1);
    h.queue.enqueue(h.run('A'));
    h.queue.enqueue(h.run('B'));
    await h.tick();
    expect(h.started).toEqual(['A-1']);
    h.freeWorker.get('A-1')!();
    await h.tick();
    expect(h.started).toEqual(['A-1', 'B-2']);
    expect(h.queue.busy('A')).toBe(true);
  });

  it('refuses past the per-room, per-connection, per-address and global limits, with the wording clients see', async () => {
    const h = harness(1);
    for (let i = 0; i < 4; i++) h.queue.enqueue(h.run('A'));
    await h.tick();
    expect(() => h.queue.enqueue(h.run('A'))).toThrow('this room already has 3 runs waiting');
    for (const room of ['B', 'C', 'D', 'E']) h.queue.enqueue(h.run(room, 'same', 'net'));
    expect(() => h.queue.enqueue(h.run('F', 'same', 'elsewhere'))).toThrow('you already have 4 runs waiting or running');
    h.queue.enqueue(h.run('F', 'other', 'net'));
    expect(() => h.queue.enqueue(h.run('G', 'third', 'net'))).toThrow('your network address already has 5 runs waiting or running');
    // 3 waiting in A, 5 in B-F: two more fill the server's 10.
    h.queue.enqueue(h.run('H'));
    h.queue.enqueue(h.run('I'));
    expect(() => h.queue.enqueue(h.run('J'))).toThrow(expect.objectContaining({ code: 'busy', retryAfterSeconds: 7, message: 'the server has 10 runs waiting; try again in 7 s' }));
    expect(h.queue.busy('J')).toBe(false);
  });

  it('Stop drops the waiting runs and cancels the running job; close waits for the turns', async () => {
    const h = harness(2);
    const a1 = h.run('A');
    let jobCancelled = 0;
    h.queue.enqueue(a1);
    h.queue.enqueue(h.run('A'));
    h.queue.enqueue(h.run('A'));
    await h.tick();
    a1.cancelJob = () => jobCancelled++;
    expect(h.queue.cancel('A')).toBe(3);
    expect(jobCancelled).toBe(1);
    expect(h.queue.state('A')).toMatchObject({ current: { runId: 'A-1' }, queued: [] });
    expect(h.queue.busy('A')).toBe(true);
    const closed = h.queue.close();
    expect(() => h.queue.enqueue(h.run('B'))).toThrow('shutting down');
    await h.end('A-1');
    await closed;
    expect(h.queue.busy('A')).toBe(false);
    expect(h.started).toEqual(['A-1']);
  });
});
