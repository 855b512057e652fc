/**
 * `npm run bench:reference -- --widths 256,512,1024 [--threads 2,1] [--steps 4] [--rounds 1] [--variants fast]
 *                           [--engine-variants winograd,direct] [--out f.json]`
 *
 * The drag step at FFHQ's widths (random weights, bench/real-widths.ts), engine vs PyTorch at the same
 * thread counts, side by side: per width and round, each thread count runs the engine (scripts/bench-step.ts,
 * one process per count since the wasm thread pool is fixed per process) and then PyTorch
 * (training/reference/drag_step.py) on the same spec, so load changes on the shared machine hit both.
 * Reports median ms/step over steps 1..N-1 (wall, and the process's CPU time over all its threads, which
 * other load disturbs less), the ratios, each process's peak RSS and the load average.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkCaseFile, type DragCase } from '../bench/cases.js';
import { ffhqModel, scaleCase } from '../bench/real-widths.js';

interface Options { widths: number[]; threads: number[]; steps: number; rounds: number; variants: string[]; engineVariants: string[]; out?: string; casesFile: string; caseId?: string }
interface StepRun { times: number[]; cpuTimes: number[]; losses: number[]; handles: number[][][]; maxRssMB: number; wasmHeapMB?: number; tensorMB?: number }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Engine variants: 'winograd' (the default kernels) or 'direct' (XNNPACK's direct convolutions only). */
function engineStep(specFile: string, threads: number, variant: string): StepRun {
  const env = { ...process.env, STABLEDRAG_WINOGRAD: variant === 'direct' ? '0' : '1' };
  const p = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-step.ts', '--spec', specFile, '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 64 << 20, env });
  if (p.status !== 0) throw new Error(`bench-step.ts failed (${p.status}):\n${p.stderr.slice(-4000)}`);
  return JSON.parse(p.stdout.trim().split('\n').at(-1)!);
}

function torchStep(specFile: string): StepRun & { variant: string; threads: number } {
  const p = spawnSync('/usr/bin/python3', ['training/reference/drag_step.py', '--spec', specFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (p.status !== 0) throw new Error(`drag_step.py failed (${p.status}):\n${p.stderr.slice(-4000)}`);
  const out = JSON.parse(p.stdout.trim().split('\n').at(-1)!);
  return { ...out.runs[0], maxRssMB: out.maxRssMB };
}

export async function benchWidths(o: Options): Promise<void> {
  let base: DragCase | undefined;
  if (existsSync(o.casesFile)) {
    const file = checkCaseFile(JSON.parse(readFileSync(o.casesFile, 'utf8')), o.casesFile);
    base = file.cases.find((x) => (o.caseId ? x.id === o.caseId : x.count === 'multi' && x.masked));
  }
  base ??= {
    id: 'fixed', seed: 7, length: 'short', count: 'multi', masked: true, motion: 'fixed',
    points: [{ landmark: '-', handle: [48, 70], target: [58, 80] }, { landmark: '-', handle: [80, 70], target: [70, 80] }],
    maskBoxes: [[38, 60, 90, 90]],
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-widths-'));
  const rows: string[][] = [];
  const results: unknown[] = [];
  for (const width of o.widths) {
    const c = scaleCase(base, width);
    const model = ffhqModel(width);
    // The engine's drag constants at this size (engine/src/drag/options.ts scales r1, r2 from 512 px).
    const h = width >= 128 ? 128 : width;
    const spec = {
      model, seed: c.seed, psi: 0.7, points: c.points.map((q) => ({ handle: q.handle, target: q.target })), maskBoxes: c.maskBoxes ?? [],
      steps: o.steps, lr: 0.002, r1: Math.max(Math.round((3 * width) / 512), 2), r2: Math.max(Math.round((12 * width) / 512), 3),
      lambda: 20, layers: 6, stopDistance: 0, featureBlock: h,
    };
    const load0 = os.loadavg();
    interface Acc { engine: Map<string, number[]>; torch: Map<string, number[]>; engineCpu: Map<string, number[]>; torchCpu: Map<string, number[]>; engineRss: Map<string, number>; torchRss: Map<string, number>; heap: Map<string, number>; loss0: [number, number] }
    const acc = new Map<number, Acc>();
    for (let r = 0; r < o.rounds; r++) {
      for (const t of o.threads) {
        const a: Acc = acc.get(t) ?? { engine: new Map(), torch: new Map(), engineCpu: new Map(), torchCpu: new Map(), engineRss: new Map(), torchRss: new Map(), heap: new Map(), loss0: [NaN, NaN] };
        acc.set(t, a);
        const specFile = path.join(dir, `spec-${width}-${t}.json`);
        writeFileSync(specFile, JSON.stringify({ ...spec, threads: [t], variants: o.variants }));
        let e: StepRun | undefined;
        for (const ev of o.engineVariants) {
          e = engineStep(specFile, t, ev);
          a.engine.set(ev, [...(a.engine.get(ev) ?? []), ...e.times.slice(1)]);
          a.engineCpu.set(ev, [...(a.engineCpu.get(ev) ?? []), ...e.cpuTimes.slice(1)]);
          a.engineRss.set(ev, Math.max(a.engineRss.get(ev) ?? 0, e.maxRssMB));
          a.heap.set(ev, Math.max(a.heap.get(ev) ?? 0, e.wasmHeapMB ?? 0));
        }
        for (const variant of o.variants) {
          writeFileSync(specFile, JSON.stringify({ ...spec, threads: [t], variants: [variant] }));
          const p = torchStep(specFile);
          a.torch.set(variant, [...(a.torch.get(variant) ?? []), ...p.times.slice(1)]);
          a.torchCpu.set(variant, [...(a.torchCpu.get(variant) ?? []), ...p.cpuTimes.slice(1)]);
          a.torchRss.set(variant, Math.max(a.torchRss.get(variant) ?? 0, p.maxRssMB));
          a.loss0 = [e!.losses[0], p.losses[0]];
        }
        const last = (xs: number[]) => median(xs.slice(-(o.steps - 1))).toFixed(0);
        console.error(`${width} px, round ${r + 1}/${o.rounds}, ${t} thread(s): engine ${o.engineVariants.map((v) => `${v} ${last(a.engine.get(v)!)}`).join(', ')} ms/step; torch ${o.variants.map((v) => `${v} ${median(a.torch.get(v)!.slice(-(o.steps - 1))).toFixed(0)}`).join(', ')} (load ${os.loadavg()[0].toFixed(1)})`);
      }
    }
    const load1 = os.loadavg();
    for (const [t, a] of acc) {
      for (const ev of o.engineVariants) {
        const em = median(a.engine.get(ev)!);
        const ec = median(a.engineCpu.get(ev)!);
        for (const variant of o.variants) {
          const pm = median(a.torch.get(variant)!);
          const pc = median(a.torchCpu.get(variant)!);
          rows.push([String(width), String(t), ev, variant, em.toFixed(0), pm.toFixed(0), (em / pm).toFixed(2), ec.toFixed(0), pc.toFixed(0), (ec / pc).toFixed(2), a.engineRss.get(ev)!.toFixed(0), a.heap.get(ev)!.toFixed(0), a.torchRss.get(variant)!.toFixed(0), `${load0[0].toFixed(1)} -> ${load1[0].toFixed(1)}`, `${a.loss0[0].toExponential(4)} / ${a.loss0[1].toExponential(4)}`]);
        }
      }
      results.push({ width, threads: t, engineTimes: Object.fromEntries(a.engine), torchTimes: Object.fromEntries(a.torch), engineCpu: Object.fromEntries(a.engineCpu), torchCpu: Object.fromEntries(a.torchCpu), engineRssMB: Object.fromEntries(a.engineRss), wasmHeapMB: Object.fromEntries(a.heap), torchRssMB: Object.fromEntries(a.torchRss), load: [load0, load1], loss0: a.loss0 });
    }
  }
  const header = ['px', 'threads', 'engine convs', 'PyTorch resampling', 'engine ms/step', 'PyTorch ms/step', 'engine / PyTorch', 'engine CPU ms/step', 'PyTorch CPU ms/step', 'CPU ratio', 'engine peak RSS MB', 'wasm heap MB', 'PyTorch peak RSS MB', 'load (1 min) start -> end', 'step-0 loss engine / PyTorch'];
  console.log(`Drag step at FFHQ widths (random weights), case ${base.id} scaled from 128 px, ${o.steps} steps (step 0 untimed) x ${o.rounds} rounds, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}).`);
  console.log([`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n'));
  if (o.out) writeFileSync(o.out, JSON.stringify({ date: new Date().toISOString(), case: base.id, options: o, results }, null, 1));
}
