/**
 * A worker process of the cluster load benchmark (scripts/bench-load-cluster.ts, started with `fork`): the
 * same BullMQ consumer as `npm run worker` (server/worker/job-workers.ts), over a ReplayJobQueue instead of
 * the engine, so one machine can stand in for a fleet of GPU workers. Messages:
 *
 *   parent -> child  { type: 'start', recordingFile, redisUrl, prefix, stepMs, devices }   child -> parent  { type: 'ready' }
 *   parent -> child  { type: 'close' }   child -> parent  { type: 'closed', counts } then exits
 */
import { readFileSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { ReplayJobQueue, type RecordedRun } from './replay-job-queue.js';
import { startJobWorkers, type JobWorkers } from '../../server/worker/job-workers.js';
import { ModelRegistry } from '../../server/rooms/model-registry.js';
import { redisConnector } from '../../server/cluster/redis-connections.js';

export type ToWorkerChild =
  | { type: 'start'; recordingFile: string; redisUrl: string; prefix: string; stepMs: number; devices: number; stripRecords?: boolean }
  | { type: 'close' };

export type FromWorkerChild = { type: 'ready' } | { type: 'closed'; counts: { drags: number; steps: number } } | { type: 'failed'; message: string };

const send = (m: FromWorkerChild) => process.send?.(m);
let replay: ReplayJobQueue | undefined;
let workers: JobWorkers | undefined;

process.on('message', (msg: ToWorkerChild) => {
  void (async () => {
    if (msg.type === 'start') {
      const recording = deserialize(readFileSync(msg.recordingFile)) as RecordedRun;
      replay = new ReplayJobQueue({ recording, stepMs: msg.stepMs, stripRecords: msg.stripRecords });
      const models = new ModelRegistry({ models: [{ id: 'faces128', path: recording.modelPath }] }, { log: () => {} });
      workers = await startJobWorkers({ redis: redisConnector({ url: msg.redisUrl, prefix: msg.prefix, nodeId: 'bench-worker' }), pool: replay, models, concurrency: msg.devices, lockMs: 30_000, log: (l) => void (l.includes(' taken ') || console.error(l)) });
      send({ type: 'ready' });
    } else if (msg.type === 'close') {
      await workers?.close();
      await replay?.close();
      send({ type: 'closed', counts: replay?.counts ?? { drags: 0, steps: 0 } });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 50);
    }
  })().catch((err: Error) => {
    send({ type: 'failed', message: err.stack ?? err.message });
    setTimeout(() => process.exit(1), 50);
  });
});
process.on('disconnect', () => setTimeout(() => process.exit(0), 2000).unref());
