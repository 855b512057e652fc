/**
 * The studio server of the load benchmark, in a process of its own so that its CPU and memory are measured
 * apart from the load generator's. Started by scripts/bench-load.ts with `fork` (tsx loader); messages:
 *
 *   parent -> child  { type: 'start', recordingFile, dbFile, stepMs }   child -> parent  { type: 'ready', url }
 *   parent -> child  { type: 'loop' }    child -> parent  { type: 'loop', stats }  (event-loop delay and replay step
 *                                                                                   lateness since the last 'loop', ms)
 *   parent -> child  { type: 'close' }   child -> parent  { type: 'closed', counts } then exits
 *
 * The server is the real `startStudioServer` (Socket.IO, Yjs, SQLite, run coordinator) with a ReplayJobQueue
 * for its jobs; the recording is read from the file the parent wrote with v8.serialize. As a cluster node it is
 * wired as `npm start` wires one with REDIS_URL (server/index.ts): the cluster parts (Socket.IO adapter, Yjs
 * relay) and the run parts on their connections, its jobs replayed by the worker processes.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { deserialize } from 'node:v8';
import { startStudioServer, type StudioServer, type StudioServerOptions } from '../../server/studio-server.js';
import { ReplayJobQueue, type RecordedRun } from './replay-job-queue.js';
import { clusterRunParts } from '../../server/runs/cluster-runs.js';
import { startCluster, type ClusterParts } from '../../server/cluster/cluster-parts.js';
import { summarize, type LatencySummary } from './stats.js';

export type ToServerChild =
  | { type: 'start'; recordingFile: string; dbFile: string; stepMs: number; stripRecords?: boolean; databaseUrl?: string; cluster?: ClusterNode }
  | { type: 'loop' }
  | { type: 'close' };

/** A web node of a cluster: its jobs go to worker processes (bench/load/worker-child.ts) through Redis. */
export interface ClusterNode {
  redisUrl: string;
  prefix: string;
  /** The PostgreSQL database every node shares. */
  databaseUrl: string;
}

export interface LoopStats {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** How late the replayed steps reached the run coordinator (ms after their schedule). */
  stepLateness: LatencySummary;
}

export type FromServerChild =
  | { type: 'ready'; url: string }
  | { type: 'loop'; stats: LoopStats }
  | { type: 'closed'; counts: { drags: number; steps: number } }
  | { type: 'failed'; message: string };

const send = (m: FromServerChild) => process.send?.(m);
const LOOP_RESOLUTION_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();
/** Delay beyond the sampling timer's own period (an idle loop reads ~0). */
const loopStats = (): LoopStats => {
  const ms = (ns: number) => +Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS).toFixed(2);
  const s = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max), mean: ms(loop.mean), stepLateness: summarize(jobs?.takeLateness() ?? []) };
  loop.reset();
  return s;
};

let server: StudioServer | undefined;
let jobs: ReplayJobQueue | undefined;
let clusterParts: ClusterParts | undefined;
let nodes = 0;

process.on('message', (msg: ToServerChild) => {
  void (async () => {
    if (msg.type === 'start') {
      const recording = deserialize(readFileSync(msg.recordingFile)) as RecordedRun;
      // In a cluster the replay runs in the worker processes instead.
      if (!msg.cluster) jobs = new ReplayJobQueue({ recording, stepMs: msg.stepMs, stripRecords: msg.stripRecords });
      const { cluster } = msg;
      if (cluster) clusterParts = await startCluster({ redisUrl: cluster.redisUrl, prefix: cluster.prefix, nodeId: `bench-web-${process.pid}-${++nodes}` });
      // `limits` only where this server has them: the benchmark opens a few hundred connections from one address.
      const opts: StudioServerOptions & { limits?: Record<string, number> } = {
        port: 0,
        host: '127.0.0.1',
        dbFile: msg.dbFile,
        models: [{ id: 'faces128', label: 'Faces 128 px', path: recording.modelPath }],
        jobs,
        ...(msg.databaseUrl ? { database: { provider: 'postgresql' as const, url: msg.databaseUrl } } : {}),
        ...(cluster && clusterParts
          ? {
              database: { provider: 'postgresql' as const, url: cluster.databaseUrl },
              cluster: clusterParts,
              ...clusterRunParts(clusterParts.redis.connector, { limits: { rendersWaiting: 1e6, rendersWaitingPerCaller: 1e6 } }),
            }
          : {}),
        limits: { connectionsPerMinute: 1e9, runsPerUser: 1e6, runsPerAddress: 1e6, runsWaiting: 1e6, queuedRunsPerRoom: 1e6, roomCreateBurst: 1e6 },
        log: () => {},
      };
      server = await startStudioServer(opts);
      send({ type: 'ready', url: server.url });
    } else if (msg.type === 'loop') {
      send({ type: 'loop', stats: loopStats() });
    } else if (msg.type === 'close') {
      await server?.close();
      send({ type: 'closed', counts: jobs?.counts ?? { drags: 0, steps: 0 } });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 50);
    }
  })().catch((err: Error) => {
    send({ type: 'failed', message: err.stack ?? err.message });
    setTimeout(() => process.exit(1), 50);
  });
});
process.on('disconnect', () => setTimeout(() => process.exit(0), 2000).unref());
