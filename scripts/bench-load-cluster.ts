/**
 * Load benchmark across a cluster (loopback only, bounded in time): frame delivery latency and Yjs update
 * propagation with web nodes and workers as separate processes on one Redis and one PostgreSQL.
 *
 *   npm run bench:load-cluster
 *   npm run bench:load-cluster -- --seconds 20 --rooms 40 --clients 5 --nodes 2 --workers 2 --devices 20
 *
 * 1. Records one real run with the engine, as bench:load does (or reads --recording FILE).
 * 2. Starts a throwaway redis-server and PostgreSQL (the test fixtures), --workers worker processes
 *    (bench/load/worker-child.ts: the BullMQ consumer of `npm run worker` over replayed jobs, --devices jobs at
 *    once each) and --nodes web nodes (bench/load/server-child.ts wired as `npm start` with REDIS_URL: the
 *    cluster parts, Socket.IO adapter and Yjs relay, and the run parts).
 * 3. Runs scenario B of bench:load (bench/load/scenario.ts) with the clients spread over the nodes: room i's
 *    editor on node i mod n, its watchers on the nodes in turn, so frames reach most watchers through the relay.
 *    Yjs clients of a room all use its editor's node, unless --yjs-across-nodes spreads them as the watchers'
 *    Socket.IO clients are, so most edits reach their watchers through the Yjs relay.
 *
 * Other flags: --step-ms 66  --steps 40  --edit-hz 5  --warmup 1  --model PATH  --out FILE  --recording FILE
 * --no-records (steps without latents and lossless frames: no step records, what the run history costs).
 * Prints a table, writes JSON to --out (default bench/results/load-cluster.json).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { WorkerPool } from '../server/jobs/worker-pool.js';
import { BUNDLED_MODEL, REPO_ROOT } from '../server/config.js';
import { DEFAULT_RUN_SETTINGS } from '../contract/run-settings.js';
import { recordRun, type RecordedRun } from '../bench/load/replay-job-queue.js';
import { ProcessSampler, type CpuMem } from '../bench/load/process-sampler.js';
import { runScenario } from '../bench/load/scenario.js';
import { startRedis } from '../tests/cluster/redis-server.js';
import { startPostgresCluster } from '../prisma/postgres-cluster.js';

const TARGET_P99_MS = 50;

function flags(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const [k, v] = argv[i].slice(2).split('=');
    if (v !== undefined) m.set(k, v);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) m.set(k, argv[++i]);
    else m.set(k, 'true');
  }
  return m;
}
const f = flags(process.argv.slice(2));
const num = (k: string, d: number, min = 1) => {
  const v = Number(f.get(k) ?? d);
  if (!Number.isFinite(v) || v < min) throw new Error(`--${k} must be a number >= ${min}`);
  return v;
};
const opts = {
  seconds: num('seconds', 20),
  rooms: Math.round(num('rooms', 40)),
  clients: Math.max(2, Math.round(num('clients', 5))),
  nodes: Math.round(num('nodes', 2)),
  workers: Math.round(num('workers', 2)),
  devices: Math.round(num('devices', 20)),
  stepMs: num('step-ms', 66),
  steps: Math.round(num('steps', 40)),
  editHz: num('edit-hz', 5, 0),
  warmupS: num('warmup', 1, 0),
  yjsAcrossNodes: f.get('yjs-across-nodes') === 'true',
  stripRecords: f.get('no-records') === 'true',
  model: resolve(f.get('model') ?? BUNDLED_MODEL),
  out: resolve(f.get('out') ?? join(REPO_ROOT, 'bench', 'results', 'load-cluster.json')),
  recording: f.get('recording') ? resolve(f.get('recording')!) : undefined,
};
if (opts.warmupS >= opts.seconds) throw new Error('--warmup must be below --seconds');
const log = (line: string) => console.error(line);
process.setMaxListeners(0);

/** A forked child speaking { type } messages: request() sends one and waits for the reply of a type. */
class Child {
  readonly proc: ChildProcess;
  private waiters: { type: string; ok: (m: { type: string; message?: string }) => void }[] = [];
  constructor(entry: string) {
    this.proc = fork(fileURLToPath(new URL(entry, import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    this.proc.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'failed') log(`[child] failed: ${m.message}`);
      const i = m.type === 'failed' ? 0 : this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0 && this.waiters[i]) this.waiters.splice(i, 1)[0].ok(m);
    });
  }
  request<T>(msg: object, reply: string, timeoutMs = 60_000): Promise<T> {
    return new Promise((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`no '${reply}' within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ type: reply, ok: (m) => (clearTimeout(t), m.type === 'failed' ? fail(new Error(m.message)) : ok(m as T)) });
      this.proc.send(msg);
    });
  }
  async close<T>(): Promise<T | null> {
    const exited = new Promise<void>((ok) => (this.proc.exitCode !== null ? ok() : this.proc.once('exit', () => ok())));
    const reply = await this.request<T>({ type: 'close' }, 'closed', 30_000).catch(() => null);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    return reply;
  }
}

async function main(): Promise<void> {
  const tAll = performance.now();
  const tmp = mkdtempSync(join(tmpdir(), 'stabledrag-load-cluster-'));
  const cleanups: (() => unknown)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    log(`[load-cluster] recording a ${opts.steps}-step run on ${opts.model} ...`);
    const settings = { ...DEFAULT_RUN_SETTINGS, maxSteps: opts.steps };
    const points = [{ handle: [48, 64] as [number, number], target: [84, 60] as [number, number] }];
    const record = async () => {
      const engine = new WorkerPool({ size: 1 });
      return recordRun(engine, { modelPath: opts.model, seed: 7, points, settings }).finally(() => engine.close());
    };
    const recording: RecordedRun = opts.recording && existsSync(opts.recording) ? (deserialize(readFileSync(opts.recording)) as RecordedRun) : await record();
    if (opts.recording && !existsSync(opts.recording)) writeFileSync(opts.recording, serialize(recording));
    const recordingFile = join(tmp, 'recording.bin');
    writeFileSync(recordingFile, serialize(recording));

    const [redis, pg] = await Promise.all([startRedis(), startPostgresCluster()]);
    cleanups.unshift(() => redis.stop(), () => pg.stop());
    const databaseUrl = await pg.createDatabase('load_cluster');
    const prefix = 'load';
    const workers = Array.from({ length: opts.workers }, () => new Child('../bench/load/worker-child.ts'));
    cleanups.unshift(() => Promise.all(workers.map((w) => w.close())));
    await Promise.all(workers.map((w) => w.request({ type: 'start', recordingFile, redisUrl: redis.url, prefix, stepMs: opts.stepMs, devices: opts.devices, stripRecords: opts.stripRecords }, 'ready')));
    const nodes: Child[] = [];
    cleanups.unshift(() => Promise.all(nodes.map((n) => n.close())));
    const urls: string[] = [];
    // One after the other: the first migrates the shared database.
    for (let i = 0; i < opts.nodes; i++) {
      const node = new Child('../bench/load/server-child.ts');
      nodes.push(node);
      const { url } = await node.request<{ url: string }>(
        { type: 'start', recordingFile, dbFile: join(tmp, `node-${i}.db`), stepMs: opts.stepMs, cluster: { redisUrl: redis.url, prefix, databaseUrl } },
        'ready',
      );
      urls.push(url);
    }
    log(`[load-cluster] ${opts.nodes} web node(s) and ${opts.workers} worker(s) x ${opts.devices} device(s) up`);

    const samplers = nodes.map((n) => new ProcessSampler(n.proc.pid!, 250));
    const workerSamplers = workers.map((w) => new ProcessSampler(w.proc.pid!, 250));
    const spec = {
      name: `B x${opts.nodes} nodes: ${opts.rooms} rooms x ${opts.clients} clients`, rooms: opts.rooms, clientsPerRoom: opts.clients,
      seconds: opts.seconds, warmupS: opts.warmupS, editHz: opts.editHz, model: 'faces128', seed: recording.seed, points: recording.points,
      settings: recording.settings, yjsOnEditorNode: !opts.yjsAcrossNodes,
    };
    const r = await runScenario<{ nodes: CpuMem[]; workers: CpuMem[] }>(urls, spec, {
      start: () => [...samplers, ...workerSamplers].forEach((s) => s.start()),
      stop: () => ({ nodes: samplers.map((s) => s.stop()), workers: workerSamplers.map((s) => s.stop()) }),
    }, log);
    const ok = (v: number) => (v < TARGET_P99_MS ? 'met' : `MISSED by ${(v - TARGET_P99_MS).toFixed(1)} ms`);
    console.log(`| scenario | clients | frames delivered | frame p50/p99/max ms | Yjs observed | Yjs p50/p99/max ms | web nodes CPU % | workers CPU % |`);
    console.log(`|---|---|---|---|---|---|---|---|`);
    console.log(
      `| ${r.name} | ${r.clients} | ${r.frames.delivered} (${(r.frames.deliveredShare * 100).toFixed(1)}%) | ${r.frames.p50} / ${r.frames.p99} / ${r.frames.max} | ` +
        `${r.yjs.observed}/${r.yjs.expected} | ${r.yjs.p50} / ${r.yjs.p99} / ${r.yjs.max} | ${r.server.nodes.map((n) => n.cpuPct).join(' + ')} | ${r.server.workers.map((n) => n.cpuPct).join(' + ')} |`,
    );
    console.log(`targets: frame p99 ${r.frames.p99} ms (${ok(r.frames.p99)}), Yjs p99 ${r.yjs.p99} ms (${ok(r.yjs.p99)}${opts.yjsAcrossNodes ? '' : ', each room on one node'})`);
    console.log(`runs: ${r.runs.started} started, ${r.runs.ended} ended, ${r.runs.startErrors} start errors; load generator event-loop delay p99 ${r.generatorLoopDelay.p99} ms`);
    const out = {
      benchmark: 'server load across a cluster', date: new Date().toISOString(),
      command: `npm run bench:load-cluster -- ${process.argv.slice(2).join(' ')}`.trim(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavgAtEnd: loadavg().map((x) => +x.toFixed(2)), node: process.version },
      options: { ...opts, out: undefined }, targets: { frameP99Ms: TARGET_P99_MS, yjsP99Ms: TARGET_P99_MS }, scenario: r,
      totalS: +((performance.now() - tAll) / 1000).toFixed(1),
    };
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(out, null, 2) + '\n');
    log(`[load-cluster] wrote ${opts.out}`);
  } finally {
    for (const c of cleanups) await c();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
