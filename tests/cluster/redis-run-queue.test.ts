/**
 * The cluster run queue on a real redis-server, with several queues standing for several web nodes: one run
 * at a time per room in start order whichever node queued it, the limits counted across nodes, Stop from any
 * node, states readable everywhere, and the runs of a node that dies dropped (a running one ended as
 * interrupted) so its rooms go on. Turns are promises the test settles by hand.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RedisRunQueue } from '../../server/runs/redis-run-queue.js';
import { redisConnector, type RedisConnector } from '../../server/cluster/redis-connections.js';
import type { QueuedRun } from '../../server/runs/run-queue.js';
import type { ServerLimits } from '../../server/limits.js';
import { startRedis, type RedisFixture } from './redis-server.js';
import { waitFor } from '../server/helpers.js';

type Limits = Pick<ServerLimits, 'queuedRunsPerRoom' | 'runsPerUser' | 'runsPerAddress' | 'runsWaiting'>;
const LIMITS: Limits = { queuedRunsPerRoom: 10, runsPerUser: 10, runsPerAddress: 10, runsWaiting: 100 };

describe('RedisRunQueue across nodes', () => {
  let redis: RedisFixture;
  let connector: RedisConnector;
  const nodes: RedisRunQueue[] = [];
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const interrupted: string[] = [];
  let n = 0;

  beforeAll(async () => {
    redis = await startRedis();
    connector = redisConnector({ url: redis.url, prefix: 'queue-test', nodeId: 'test' });
  });
  afterEach(async () => {
    for (const f of finish.values()) f();
    await Promise.all(nodes.splice(0).map((q) => q.close()));
  });
  afterAll(() => redis?.stop());

  function node(limits: Limits = LIMITS, unfinishedRuns?: () => Promise<string[]>): RedisRunQueue {
    const q = new RedisRunQueue(
      { redis: connector, limits, retryAfterSeconds: () => 7, interrupted: async (id) => (interrupted.push(id), 0), nodeTimeoutMs: 4000, log: () => {}, unfinishedRuns },
      {
        turn: (run) => {
          started.push(run.info.runId);
          run.info.state = 'running';
          return new Promise<void>((resolve) => finish.set(run.info.runId, resolve));
        },
        changed: () => {},
      },
    );
    nodes.push(q);
    return q;
  }
  const run = (roomId: string, address = `a${n}`, connection = `c${n}`): QueuedRun => ({
    roomId, info: { runId: `${roomId}-${++n}`, by: null, state: 'queued', position: 0, maxSteps: 0, step: 0 }, by: null,
    owner: { connection, address }, cancelled: false,
  });
  const end = (r: QueuedRun) => finish.get(r.info.runId)!();

  it('runs a room\'s runs one at a time in start order, whichever node queued them; every node sees the state', async () => {
    const [a, b] = [node(), node()];
    const [r1, r2, r3] = [run('order'), run('order'), run('order')];
    expect(await a.enqueue(r1)).toBe(0);
    expect(await b.enqueue(r2)).toBe(1);
    expect(await a.enqueue(r3)).toBe(2);
    await waitFor(() => started.includes(r1.info.runId), 'the first run\'s turn on node A');
    await waitFor(() => b.state('order').queued.length === 2, 'the room\'s state on node B');
    const seen = b.state('order');
    expect(seen.current?.runId).toBe(r1.info.runId);
    expect(seen.queued.map((i) => [i.runId, i.position])).toEqual([[r2.info.runId, 1], [r3.info.runId, 2]]);
    expect(b.busy('order')).toBe(true);
    expect(started).not.toContain(r2.info.runId);
    end(r1);
    await waitFor(() => started.includes(r2.info.runId), 'the second run\'s turn on node B');
    expect(started).not.toContain(r3.info.runId);
    end(r2);
    await waitFor(() => started.includes(r3.info.runId), 'the third run\'s turn on node A');
    end(r3);
    await waitFor(() => !a.busy('order') && !b.busy('order'), 'a quiet room on both nodes');
    expect(started.filter((id) => id.startsWith('order-'))).toEqual([r1, r2, r3].map((r) => r.info.runId));
  });

  it('counts the per-room, per-person and server-wide limits across nodes', async () => {
    const limits = { queuedRunsPerRoom: 1, runsPerUser: 2, runsPerAddress: 2, runsWaiting: 100 };
    const [a, b] = [node(limits), node(limits)];
    await a.enqueue(run('lim-1', 'x'));
    await b.enqueue(run('lim-2', 'x'));
    await expect(a.enqueue(run('lim-3', 'x'))).rejects.toMatchObject({ code: 'limit', message: expect.stringMatching(/network address already has 2 runs/) });
    await a.enqueue(run('lim-4', 'y'));
    await b.enqueue(run('lim-4', 'z'));
    await expect(a.enqueue(run('lim-4', 'w'))).rejects.toMatchObject({ code: 'limit', message: expect.stringMatching(/room already has 1 runs waiting/) });
    const tight = node({ ...limits, runsWaiting: 1 });
    await expect(tight.enqueue(run('lim-5', 'v'))).rejects.toMatchObject({ code: 'busy', retryAfterSeconds: 7 });
  });

  it('Stop on one node cancels the runs another node runs and queued', async () => {
    const [a, b] = [node(), node()];
    const [r1, r2] = [run('stop'), run('stop')];
    let cancelledJob = false;
    await a.enqueue(r1);
    await a.enqueue(r2);
    await waitFor(() => started.includes(r1.info.runId), 'the run\'s turn on node A');
    r1.cancelJob = () => (cancelledJob = true);
    expect(await b.cancel('stop')).toBe(2);
    await waitFor(() => cancelledJob, 'the cancel to reach node A\'s job');
    expect(r1.cancelled && r2.cancelled).toBe(true);
    end(r1);
    await waitFor(() => !a.busy('stop') && !b.busy('stop'), 'a quiet room');
    expect(started).not.toContain(r2.info.runId);
  });

  it('drops the runs of a node that died, ends its running one as interrupted, and the room goes on', async () => {
    const [a, doomed] = [node(), node()];
    const [r1, r2] = [run('dead'), run('dead')];
    await doomed.enqueue(r1);
    await waitFor(() => started.includes(r1.info.runId), 'the run\'s turn on the doomed node');
    await a.enqueue(r2);
    // Its connections cut, as a killed process's: no heartbeat, no goodbye.
    for (const c of ['commands', 'subscriber']) (doomed as unknown as Record<string, Redis>)[c].disconnect();
    nodes.splice(nodes.indexOf(doomed), 1);
    await waitFor(() => started.includes(r2.info.runId), 'the next run\'s turn on the live node', 20_000);
    expect(interrupted).toContain(r1.info.runId);
    end(r2);
    await waitFor(() => !a.busy('dead'), 'a quiet room');
  }, 30_000);

  it('at start, ends the store\'s running runs that no queue holds once no other node is alive (a cluster restarted with an emptied Redis)', async () => {
    // Held by a live node: left alone (its queue entry is in Redis).
    const a = node();
    const held = run('orphans');
    await a.enqueue(held);
    await waitFor(() => started.includes(held.info.runId), 'the held run\'s turn');
    // While node A lives, a new node ends nothing: A may be running runs Redis no longer lists.
    const asked: string[] = [];
    node(LIMITS, async () => (asked.push('b'), ['lost-1', held.info.runId]));
    await waitFor(() => asked.length === 1, 'node B to look for runs no node holds', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(interrupted).not.toContain('lost-1');
    // Node A stops (its heartbeat key goes with it); the next node to start ends the orphan only.
    end(held);
    await waitFor(() => !a.busy('orphans'), 'the held run to end');
    await Promise.all(nodes.splice(0).map((q) => q.close()));
    node(LIMITS, async () => (asked.push('c'), ['lost-1', 'lost-2']));
    await waitFor(() => interrupted.includes('lost-1') && interrupted.includes('lost-2'), 'the orphans to end interrupted', 20_000);
    expect(asked).toEqual(['b', 'c']);
    expect(interrupted).not.toContain(held.info.runId);
  });
});
