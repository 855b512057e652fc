/**
 * The run parts of a cluster's web node, for startStudioServer: drag and render jobs on BullMQ (worker
 * processes run them), the run queue on Redis, and frames relayed to the other nodes. Everything else a
 * cluster needs (the Socket.IO adapter, the Yjs relay, PostgreSQL) is wired beside these.
 */
import { randomBytes } from 'node:crypto';
import type { StudioServerOptions } from '../studio-server.js';
import type { RedisConnector } from '../cluster/redis-connections.js';
import { BullJobQueue } from '../jobs/bull-job-queue.js';
import { RoomRelay } from '../realtime/room-relay.js';
import { RedisRunQueue } from './redis-run-queue.js';
import type { ServerLimits } from '../limits.js';

export interface ClusterRunOptions {
  /** RedisRunQueue's node timeout (default 15 s). */
  nodeTimeoutMs?: number;
  limits?: Partial<Pick<ServerLimits, 'rendersWaiting' | 'rendersWaitingPerCaller'>>;
  log?: (line: string) => void;
}

/** How a run cut off by its web node's death is recorded (the steps it recorded stay). */
export const NODE_LOST_RUN = { reason: 'interrupted', error: 'the web node running it stopped' } as const;

export function clusterRunParts(redis: RedisConnector, opts: ClusterRunOptions = {}): Pick<StudioServerOptions, 'jobs' | 'runQueue' | 'broadcaster'> {
  const { log } = opts;
  // This start of the node: a node id may be fixed (a pod name) and reused by the next process, which must
  // neither keep its predecessor's runs alive in the run queue nor receive the replies of its jobs.
  const instance = `${redis.nodeId}.${randomBytes(4).toString('hex')}`;
  return {
    jobs: (models, { onDragSteps }) =>
      new BullJobQueue({
        redis, log, onDragSteps, node: instance, modelIdOf: (path) => models.byPath(path)?.id,
        rendersWaiting: opts.limits?.rendersWaiting, rendersWaitingPerCaller: opts.limits?.rendersWaitingPerCaller,
      }),
    runQueue: ({ events, store, limits, retryAfterSeconds }) =>
      new RedisRunQueue(
        {
          redis, limits, retryAfterSeconds, log, nodeTimeoutMs: opts.nodeTimeoutMs, node: instance,
          unfinishedRuns: () => store.unfinishedRunIds(),
          interrupted: async (runId) => {
            const run = await store.getRun(runId);
            if (run?.status !== 'running') return undefined;
            const steps = Math.max(0, run.recorded - 1);
            await store.finishRun(runId, { reason: NODE_LOST_RUN.reason, steps, error: NODE_LOST_RUN.error });
            return steps;
          },
        },
        events,
      ),
    broadcaster: (io) => new RoomRelay(io, redis, instance, { log }),
  };
}
