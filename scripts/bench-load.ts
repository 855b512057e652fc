/**
 * Server load benchmark (loopback only, bounded in time): frame delivery latency and Yjs update propagation
 * with many clients, and the server's CPU and memory.
 *
 *   npm run bench:load
 *   npm run bench:load -- --seconds 20 --watchers 50 --rooms 20 --clients 5 --out bench/results/load.json
 *
 * 1. Records one real run with the engine (WorkerPool, bundled 128 px model; --steps steps) and writes it
 *    to a temp file: the frames replayed later are the real q80 WebP frames (~2.4 KB at 128 px).
 * 2. Per scenario, starts the real studio server in a child process (bench/load/server-child.ts) on port 0
 *    with a temp SQLite file and a ReplayJobQueue (bench/load/replay-job-queue.ts) that replays the recorded
 *    steps every --step-ms in any number of rooms at once, and samples the child's CPU and RSS from /proc.
 * 3. Scenario A: one room, 1 editor + --watchers watchers. Scenario B: --rooms rooms x --clients clients
 *    (1 editor + watchers each). Editors run back to back and move a point --edit-hz times a second; see
 *    bench/load/scenario.ts for what is measured.
 *
 * Other flags: --scenarios a,b  --step-ms 66  --steps 40  --edit-hz 5 (0: no edits)  --warmup 1  --model PATH.
 * --same-session: run the server in this process's session (Linux: the same scheduler autogroup as the load
 * generator; by default it gets a session, hence an autogroup, of its own, as a service would).
 * --postgres: the server's store in a throwaway PostgreSQL (prisma/postgres-cluster.ts) instead of SQLite.
 * --recording FILE: replay material cache (recorded and saved there if absent; its own steps/points win).
 * Profiling: --no-runs (Yjs load only); --no-records (steps without latents and lossless frames, so no step
 * records are written: what the run history costs); BENCH_LOAD_CPU_PROF=DIR writes the server child's V8 CPU profile there.
 * Prints a table, writes JSON to --out, exits 0 (1 only if the benchmark itself failed).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { WorkerPool } from '../server/jobs/worker-pool.js';
import { BUNDLED_MODEL, REPO_ROOT } from '../server/config.js';
import { DEFAULT_RUN_SETTINGS } from '../contract/run-settings.js';
import { recordRun, type RecordedRun } from '../bench/load/replay-job-queue.js';
import type { FromServerChild, LoopStats, ToServerChild } from '../bench/load/server-child.js';
import { ProcessSampler, readProc, selfCpu, type CpuMem } from '../bench/load/process-sampler.js';
import { runScenario, type ScenarioResult, type ScenarioSpec } from '../bench/load/scenario.js';
import { summarize } from '../bench/load/stats.js';
import { startPostgresCluster, type PostgresCluster } from '../prisma/postgres-cluster.js';

const TARGET_P99_MS = 50;

function flags(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const [k, v] = a.slice(2).split('=');
    if (v !== undefined) m.set(k, v);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) m.set(k, argv[++i]);
    else m.set(k, 'true');
  }
  return m;
}

const f = flags(process.argv.slice(2));
const num = (k: string, d: number, min = Number.MIN_VALUE) => {
  const v = Number(f.get(k) ?? d);
  if (!Number.isFinite(v) || v < min) throw new Error(`--${k} must be a number >= ${min}`);
  return v;
};
const opts = {
  seconds: num('seconds', 20),
  watchers: Math.round(num('watchers', 50)),
  rooms: Math.round(num('rooms', 20)),
  clients: Math.max(2, Math.round(num('clients', 5))),
  stepMs: num('step-ms', 66),
  steps: Math.round(num('steps', 40)),
  editHz: num('edit-hz', 5, 0),
  runs: f.get('no-runs') !== 'true',
  stripRecords: f.get('no-records') === 'true',
  postgres: f.get('postgres') === 'true',
  ownSession: f.get('same-session') !== 'true',
  warmupS: Number(f.get('warmup') ?? 1),
  model: resolve(f.get('model') ?? BUNDLED_MODEL),
  out: resolve(f.get('out') ?? join(REPO_ROOT, 'bench', 'results', 'load.json')),
  recording: f.get('recording') ? resolve(f.get('recording')!) : undefined,
  scenarios: (f.get('scenarios') ?? 'a,b').split(',').map((s) => s.trim().toLowerCase()),
};
if (opts.warmupS < 0 || opts.warmupS >= opts.seconds) throw new Error('--warmup must be in [0, --seconds)');

const log = (line: string) => console.error(line);
// y-websocket adds a process 'exit' listener per provider; a hundred providers are expected here.
process.setMaxListeners(0);
const tAll = performance.now();
const tmp = mkdtempSync(join(tmpdir(), 'stabledrag-load-'));

interface ServerWindow extends CpuMem {
  machineBusyPct: number | null;
  idleRssMiB: number;
  loopDelay: LoopStats | null;
  generatorCpuPct: number;
  /** The load generator's main thread (its event loop): on a CPU / waiting for one, % of the window. */
  generatorMainThread: CpuMem['mainThread'];
}

class ServerChild {
  readonly proc: ChildProcess;
  private waiters: { type: FromServerChild['type']; ok: (m: FromServerChild) => void }[] = [];

  constructor(ownSession: boolean) {
    const entry = fileURLToPath(new URL('../bench/load/server-child.ts', import.meta.url));
    const prof = process.env.BENCH_LOAD_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.BENCH_LOAD_CPU_PROF)] : [];
    // detached: setsid(), so on Linux the server is in a scheduler autogroup of its own, as a service would be,
    // instead of sharing this shell's group (and its CPU share) with the load generator.
    this.proc = fork(entry, [], { execArgv: ['--import', 'tsx', ...prof], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: ownSession });
    this.proc.on('message', (m: FromServerChild) => {
      if (m.type === 'failed') {
        log(`[server child] failed: ${m.message}`);
        for (const w of this.waiters.splice(0)) w.ok(m);
        return;
      }
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0].ok(m);
    });
  }

  request<K extends FromServerChild['type']>(msg: ToServerChild, reply: K, timeoutMs = 30_000): Promise<Extract<FromServerChild, { type: K }>> {
    return new Promise((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`server child: no '${reply}' within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type: reply,
        ok: (m) => {
          clearTimeout(t);
          if (m.type === 'failed') fail(new Error(m.message));
          else ok(m as Extract<FromServerChild, { type: K }>);
        },
      });
      this.proc.send(msg);
    });
  }

  async close(): Promise<{ drags: number; steps: number } | null> {
    const exited = new Promise<void>((ok) => (this.proc.exitCode !== null ? ok() : this.proc.once('exit', () => ok())));
    let counts: { drags: number; steps: number } | null = null;
    try {
      counts = (await this.request({ type: 'close' }, 'closed', 20_000)).counts;
    } catch (err) {
      log(`[server child] close: ${(err as Error).message}; killing it`);
      this.proc.kill('SIGKILL');
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    return counts;
  }
}

/** The busiest processes now (the machine is shared: a training job, other people's tests). */
function topProcesses(): string[] {
  try {
    return execFileSync('ps', ['-eo', 'pid,ni,pcpu,comm', '--sort=-pcpu']).toString().trim().split('\n').slice(0, 6).map((l) => l.trim());
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const busyAtStart = topProcesses();
  // 1. The replay material: one real run on the real engine.
  log(`[load] recording a ${opts.steps}-step run on ${opts.model} with the engine ...`);
  const tRec = performance.now();
  const settings = { ...DEFAULT_RUN_SETTINGS, maxSteps: opts.steps };
  const points = [{ handle: [48, 64] as [number, number], target: [84, 60] as [number, number] }];
  const record = async () => {
    const engine = new WorkerPool({ size: 1 });
    return recordRun(engine, { modelPath: opts.model, seed: 7, points, settings }).finally(() => engine.close());
  };
  const recording: RecordedRun = opts.recording && existsSync(opts.recording) ? (deserialize(readFileSync(opts.recording)) as RecordedRun) : await record();
  if (opts.recording && !existsSync(opts.recording)) writeFileSync(opts.recording, serialize(recording));
  const recordS = (performance.now() - tRec) / 1000;
  const frameBytes = summarize(recording.steps.map((s) => s.image?.bytes.byteLength ?? 0));
  const workerStep = summarize(recording.steps.slice(1).map((s) => s.elapsedMs));
  const res = recording.renders.png!.image.width;
  log(`[load] recorded ${recording.steps.length} steps (${recording.end.reason}) in ${recordS.toFixed(1)} s: ${res} px frames ${frameBytes.mean} B mean (${frameBytes.max} max), engine step ${workerStep.p50} ms p50 here`);
  const recordingFile = join(tmp, 'recording.bin');
  writeFileSync(recordingFile, serialize(recording));

  const specs: ScenarioSpec[] = [];
  const base = { seconds: opts.seconds, warmupS: opts.warmupS, editHz: opts.editHz, runs: opts.runs, model: 'faces128', seed: recording.seed, points: recording.points, settings: recording.settings };
  if (opts.scenarios.includes('a')) specs.push({ name: 'A: 1 room, 1 editor + watchers', rooms: 1, clientsPerRoom: opts.watchers + 1, ...base });
  if (opts.scenarios.includes('b')) specs.push({ name: `B: ${opts.rooms} rooms x ${opts.clients} clients`, rooms: opts.rooms, clientsPerRoom: opts.clients, ...base });

  const results: ScenarioResult<ServerWindow>[] = [];
  const pg: PostgresCluster | undefined = opts.postgres ? await startPostgresCluster() : undefined;
  for (const [i, spec] of specs.entries()) {
    log(`[load] ${spec.name}: starting the server ...`);
    const child = new ServerChild(opts.ownSession);
    try {
      const databaseUrl = pg ? await pg.createDatabase(`load_${i}`) : undefined;
      const { url } = await child.request({ type: 'start', recordingFile, dbFile: join(tmp, `load-${i}.db`), stepMs: opts.stepMs, stripRecords: opts.stripRecords, databaseUrl }, 'ready', 60_000);
      const pid = child.proc.pid!;
      const idleRssMiB = +((readProc(pid)?.rss ?? 0) / 2 ** 20).toFixed(1);
      const sampler = new ProcessSampler(pid, 250);
      const selfSampler = new ProcessSampler(process.pid, 1000);
      let genCpu: () => number = () => NaN;
      const r = await runScenario<ServerWindow>(
        url,
        spec,
        {
          start: async () => {
            await child.request({ type: 'loop' }, 'loop'); // resets the server's event-loop histogram
            sampler.start();
            selfSampler.start();
            genCpu = selfCpu();
          },
          stop: async () => {
            const generatorCpuPct = genCpu();
            const s = sampler.stop();
            const generatorMainThread = selfSampler.stop().mainThread;
            const loop = await child.request({ type: 'loop' }, 'loop').then((m) => m.stats, () => null);
            return { ...s, idleRssMiB, loopDelay: loop, generatorCpuPct, generatorMainThread };
          },
        },
        log,
      );
      results.push(r);
      log(`[load] ${spec.name}: frames p50/p99 ${r.frames.p50}/${r.frames.p99} ms, yjs p50/p99 ${r.yjs.p50}/${r.yjs.p99} ms, server ${r.server.cpuPct}% CPU`);
    } finally {
      const counts = await child.close();
      if (counts) log(`[load] server replayed ${counts.drags} runs, ${counts.steps} steps`);
    }
  }
  pg?.stop();
  rmSync(tmp, { recursive: true, force: true });
  const totalS = (performance.now() - tAll) / 1000;

  // Table.
  const rows = results.map((r) => [
    r.name,
    String(r.clients),
    `${r.frames.delivered} (${(r.frames.deliveredShare * 100).toFixed(1)}%)`,
    `${r.frames.p50} / ${r.frames.p99} / ${r.frames.max}`,
    `${r.yjs.observed}/${r.yjs.expected}`,
    `${r.yjs.p50} / ${r.yjs.p99} / ${r.yjs.max}`,
    `${r.server.cpuPct}`,
    `${r.server.peakRssMiB} (idle ${r.server.idleRssMiB})`,
    `${r.server.generatorCpuPct}`,
    `${r.server.machineBusyPct ?? '-'}`,
  ]);
  const head = ['scenario', 'clients', 'frames delivered', 'frame p50/p99/max ms', 'Yjs observed', 'Yjs p50/p99/max ms', 'server CPU %', 'server RSS MiB', 'loadgen CPU %', 'machine busy %'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  for (const r of results) {
    const ok = (v: number) => (v < TARGET_P99_MS ? 'met' : `MISSED by ${(v - TARGET_P99_MS).toFixed(1)} ms`);
    const sv = r.server;
    const lat = sv.loopDelay?.stepLateness;
    const thread = (t: CpuMem['mainThread']) => (t ? `${t.cpuPct}% on a CPU, ${t.runQueueWaitPct}% runnable but waiting for one` : 'n/a');
    console.log(`\n${r.name} (${r.measuredS} s measured, setup ${r.setupS} s)`);
    console.log(`  targets: frame p99 ${r.frames.p99} ms (${ok(r.frames.p99)}), Yjs p99 ${r.yjs.p99} ms (${ok(r.yjs.p99)})`);
    console.log(`  frames: ${r.frames.perSecond}/s, ${(r.frames.deliveredShare * 100).toFixed(1)}% of produced x clients delivered; replayed steps reached the coordinator ${lat?.p50 ?? '-'}/${lat?.p99 ?? '-'} ms (p50/p99) late, before producedAt`);
    const cpuMsPerStep = r.frames.produced ? +((sv.cpuPct / 100) * r.measuredS * 1000 / r.frames.produced).toFixed(2) : NaN;
    console.log(`  server: CPU ${sv.cpuPct}% of a core (${cpuMsPerStep} ms per step broadcast), event-loop delay p50/p99/max ${sv.loopDelay?.p50 ?? '-'}/${sv.loopDelay?.p99 ?? '-'}/${sv.loopDelay?.max ?? '-'} ms, main thread ${thread(sv.mainThread)}`);
    console.log(`  load generator: CPU ${sv.generatorCpuPct}%, event-loop delay p99 ${r.generatorLoopDelay.p99} ms, main thread ${thread(sv.generatorMainThread)}`);
    console.log(`  runs: ${r.runs.started} started, ${r.runs.ended} ended, ${r.runs.startErrors} start errors; Yjs edits ${r.yjs.edits}, observed ${r.yjs.observed}/${r.yjs.expected}`);
  }
  console.log(`total ${totalS.toFixed(1)} s (recording ${recordS.toFixed(1)} s)`);

  const out = {
    benchmark: 'server load',
    date: new Date().toISOString(),
    command: `npm run bench:load -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavgAtEnd: loadavg().map((x) => +x.toFixed(2)), node: process.version,
      topProcessesAtStart: busyAtStart, topProcessesAtEnd: topProcesses(),
    },
    options: { ...opts, out: undefined },
    recording: { model: opts.model, resolution: res, steps: recording.steps.length, endReason: recording.end.reason, recordS: +recordS.toFixed(1), frameBytes, engineStepMs: workerStep },
    targets: { frameP99Ms: TARGET_P99_MS, yjsP99Ms: TARGET_P99_MS },
    scenarios: results.map((r) => ({
      ...r,
      serverCpuMsPerStep: r.frames.produced ? +((r.server.cpuPct / 100) * r.measuredS * 1000 / r.frames.produced).toFixed(2) : null,
      targetsMet: { frames: r.frames.p99 < TARGET_P99_MS, yjs: r.yjs.p99 < TARGET_P99_MS },
    })),
    totalS: +totalS.toFixed(1),
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(out, null, 2) + '\n');
  log(`[load] wrote ${opts.out}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  },
);
