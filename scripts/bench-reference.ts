/**
 * npm run bench:reference [-- --model PATH] [--case ID] [--steps 30] [--rounds 2] [--threads 2,1]
 *                           [--variants reference,fast] [--out speed.json]
 * npm run bench:reference -- --widths 256,512,1024 [--threads 2,1] [--steps 4] [--rounds 1] [--variants fast]
 *                           [--engine-variants winograd,direct]
 *   (FFHQ-width random models, engine and PyTorch at each thread count: scripts/bench-widths.ts)
 *
 * The engine's DragGAN drag step (wasm, one thread) against the same step in PyTorch on this CPU
 * (training/reference/drag_step.py; same safetensors weights, feature block, motion supervision + mask
 * loss, Adam on the first 6 w+ vectors, nearest-neighbour tracking), measured in one run: rounds alternate
 * engine and PyTorch so load changes hit both. Also: analytic FLOPs per step (bench/flops.ts), achieved
 * GFLOP/s, and the share of each side's measured peak (tfjs wasm and torch matMul/conv2d microbenchmarks).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDragOptions, defaultModelPath, dragRun, initBackend, loadGenerator, type DragStepEvent } from '../engine/src/index.js';
import { checkCaseFile, type DragCase } from '../bench/cases.js';
import { discPointCount, dragStepFlops, totalFlops } from '../bench/flops.js';
import { modelFile } from '../bench/generate.js';
import { tfjsPeak } from '../bench/peak.js';
import { benchWidths } from './bench-widths.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    case: { type: 'string' },
    'cases-file': { type: 'string' },
    steps: { type: 'string' },
    rounds: { type: 'string' },
    threads: { type: 'string' },
    variants: { type: 'string' },
    out: { type: 'string' },
    widths: { type: 'string' },
    'engine-variants': { type: 'string' },
  },
});
const steps = Number(values.steps ?? 30);
const rounds = Number(values.rounds ?? 2);
const threads = (values.threads ?? '2,1').split(',').map(Number);
const variants = (values.variants ?? 'reference,fast').split(',');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (values.widths) {
  await benchWidths({
    widths: values.widths.split(',').map(Number), threads: (values.threads ?? '2,1').split(',').map(Number),
    steps: Number(values.steps ?? 4), rounds: Number(values.rounds ?? 1), variants: (values.variants ?? 'fast').split(','),
    engineVariants: (values['engine-variants'] ?? 'winograd').split(','),
    out: values.out, casesFile: values['cases-file'] ?? 'bench/cases.json', caseId: values.case,
  });
  process.exit(0);
}
const backend = await initBackend({ backend: 'wasm', threads: 1 });
const modelArg = values.model ?? defaultModelPath();
if (!existsSync(modelArg)) {
  console.error(`model not found: ${modelArg} (use --model /tmp/stand-in for a random-weight stand-in)`);
  process.exit(2);
}
const modelPath = modelFile(modelArg);
const gen = await loadGenerator(modelPath);
const d = defaultDragOptions(gen);

// The drag: a benchmark case with several points and a mask (default: the first such case), or a fixed one.
const casesPath = values['cases-file'] ?? 'bench/cases.json';
let c: DragCase = {
  id: 'fixed', seed: 7, length: 'short', count: 'multi', masked: true, motion: 'fixed',
  points: [{ landmark: '-', handle: [48, 70], target: [58, 80] }, { landmark: '-', handle: [80, 70], target: [70, 80] }],
  maskBoxes: [[38, 60, 90, 90]],
};
if (existsSync(casesPath)) {
  const file = checkCaseFile(JSON.parse(readFileSync(casesPath, 'utf8')), casesPath);
  c = file.cases.find((x) => (values.case ? x.id === values.case : x.count === 'multi' && x.masked)) ?? c;
}
if (gen.config.architecture !== 'stylegan2-ada' || gen.width !== gen.height) throw new Error('the PyTorch reference step covers square StyleGAN2 models');
const featureBlock = gen.featureLayers()[d.featureLayer].height;
const spec = {
  model: path.resolve(modelPath), seed: c.seed, psi: gen.config.truncation_psi,
  points: c.points.map((q) => ({ handle: q.handle, target: q.target })), maskBoxes: c.maskBoxes ?? [],
  steps, lr: d.lr, r1: d.r1, r2: d.r2, lambda: d.lambda, layers: d.optimizedLayers, stopDistance: 0,
  featureBlock, threads, variants, checkTfjsAbs: true,
};
const specFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-ref-')), 'spec.json');
writeFileSync(specFile, JSON.stringify(spec));
const mask = (() => {
  if (!c.maskBoxes) return undefined;
  const m = new Uint8Array(gen.width * gen.height);
  for (const [x0, y0, x1, y1] of c.maskBoxes) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * gen.width + x] = 1;
  return m;
})();

interface EngineRun { times: number[]; losses: number[]; handles: number[][][]; update0: number[] }
async function engineRun(): Promise<EngineRun> {
  const latent = gen.latentFromSeed(c.seed);
  const n = d.optimizedLayers * gen.wDim;
  let update0: number[] = [];
  const times: number[] = [];
  const losses: number[] = [];
  const handles: number[][][] = [];
  let last = performance.now();
  const run = dragRun(gen, {
    latent,
    points: spec.points,
    mask,
    options: { method: 'draggan', maxSteps: steps, stopDistance: 0, stallSteps: 0, imageEvery: 10_000 },
  });
  for await (const ev of run) {
    const now = performance.now();
    if (ev.type === 'step') {
      // Step 0 carries one-time set-up and the last step only evaluates: neither is timed.
      if (ev.step > 0 && ev.step < steps) times.push(now - last);
      if (ev.step === 1) update0 = Array.from(ev.latent.subarray(0, n), (v, i) => v - latent[i]);
      if (ev.step < steps) {
        losses.push((ev as DragStepEvent).loss);
        handles.push(ev.handles.map((h) => [...h]));
      }
    }
    last = now;
  }
  return { times, losses, handles, update0 };
}

interface PyRun { threads: number; variant: string; msPerStep: number; times: number[]; losses: number[]; handles: number[][][]; update0: number[] }
interface PyOut { runs: PyRun[]; peak?: Record<string, Record<string, number>>; torch: string; tfjsAbsCheck: PyRun }
function pythonRun(withPeak: boolean): PyOut {
  const args = ['training/reference/drag_step.py', '--spec', specFile, ...(withPeak ? ['--peak'] : [])];
  const p = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (p.status !== 0) throw new Error(`drag_step.py failed (${p.status}):\n${p.stderr}`);
  return JSON.parse(p.stdout.trim().split('\n').at(-1)!);
}

const load0 = os.loadavg();
await engineRun(); // warm-up: kernels, wasm memory growth
const engineTimes: number[] = [];
const py = new Map<string, { times: number[]; run: PyRun }>();
let engineLast: EngineRun = { times: [], losses: [], handles: [], update0: [] };
let torchPeak: Record<string, Record<string, number>> = {};
let torchVersion = '';
let check: PyRun | undefined;
for (let r = 0; r < rounds; r++) {
  engineLast = await engineRun();
  engineTimes.push(...engineLast.times);
  const out = pythonRun(r === rounds - 1);
  torchVersion = out.torch;
  check = out.tfjsAbsCheck;
  if (out.peak) torchPeak = out.peak;
  for (const run of out.runs) {
    const key = `${run.variant}/${run.threads}`;
    const e = py.get(key) ?? { times: [], run };
    e.times.push(...run.times.slice(1));
    e.run = run;
    py.set(key, e);
  }
  console.error(`round ${r + 1}/${rounds}: engine ${median(engineLast.times).toFixed(1)} ms/step; torch ${out.runs.map((x) => `${x.variant}/${x.threads}t ${x.msPerStep.toFixed(1)}`).join(', ')}`);
}
const wasmPeak = tfjsPeak();
const load1 = os.loadavg();

const flopsRows = dragStepFlops(gen.config, {
  optimizedLayers: d.optimizedLayers, featureBlock, handles: c.points.length,
  discPoints: discPointCount(d.r1), windowPoints: (2 * d.r2 + 1) ** 2, masked: !!mask,
});
const flops = totalFlops(flopsRows);
const gf = (ms: number) => flops.total / (ms / 1000) / 1e9;
const engineMs = median(engineTimes);
const enginePeak = Math.max(...Object.values(wasmPeak));

const rows: string[][] = [[`engine (tfjs ${backend.name}, 1 thread)`, engineMs.toFixed(1), '1.00', gf(engineMs).toFixed(2), `${((100 * gf(engineMs)) / enginePeak).toFixed(0)}% of wasm peak ${enginePeak.toFixed(1)}`]];
for (const [key, e] of py) {
  const ms = median(e.times);
  const tp = Math.max(...Object.values(torchPeak[String(e.run.threads)] ?? { x: NaN }));
  rows.push([`PyTorch ${torchVersion} ${e.run.variant}, ${e.run.threads} thread(s)`, ms.toFixed(1), (engineMs / ms).toFixed(2), gf(ms).toFixed(2), `${((100 * gf(ms)) / tp).toFixed(0)}% of torch ${e.run.threads}-thread peak ${tp.toFixed(1)}`]);
  void key;
}
const ref = py.get(`reference/${threads[0]}`)?.run ?? [...py.values()][0].run;
const relDiff = (a: number[], b: number[]) => Math.max(...a.map((l, i) => Math.abs(l - b[i]) / Math.max(Math.abs(b[i]), 1e-12)));
const firstHandleDiff = (a: number[][][], b: number[][][]) => a.findIndex((h, i) => JSON.stringify(h) !== JSON.stringify(b[i]));
// Adam's first update is about -lr * sign(gradient): the share of equal signs compares the two gradients.
const signAgree = (a: number[], b: number[]) => a.filter((u, i) => Math.sign(u) === Math.sign(b[i])).length / Math.max(b.length, 1);
const sameStep = (name: string, r: PyRun) => {
  const h = firstHandleDiff(engineLast.handles, r.handles);
  return `vs ${name}: step-0 loss ${engineLast.losses[0]?.toFixed(6)} vs ${r.losses[0]?.toFixed(6)}; first Adam update same sign in ${(100 * signAgree(engineLast.update0, r.update0)).toFixed(1)}% of ${r.update0.length} elements; max relative loss difference over ${r.losses.length} steps ${relDiff(engineLast.losses, r.losses).toExponential(2)}; tracked handles ${h < 0 ? 'identical at every step' : `first differ at step ${h}`}.`;
};
const table = (header: string[], body: string[][]) =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const text = [
  `Drag step (method draggan, case ${c.id}: ${c.points.length} points${mask ? ', mask' : ''}), model ${modelPath}, ${steps} steps x ${rounds} rounds, median ms per step (step 0 and the final evaluation excluded).`,
  `Load average before/after: ${load0.map((x) => x.toFixed(2)).join(' ')} / ${load1.map((x) => x.toFixed(2)).join(' ')} (${os.cpus().length} CPUs: ${os.cpus()[0]?.model}).`,
  '',
  table(['implementation', 'ms/step', 'engine ms / this ms', 'GFLOP/s achieved', 'share of peak'], rows),
  '',
  `FLOPs per step (analytic, bench/flops.ts): forward ${(flops.forward / 1e6).toFixed(1)} M, backward ${(flops.backward / 1e6).toFixed(1)} M, total ${(flops.total / 1e6).toFixed(1)} MFLOP.`,
  table(['layer', 'forward MFLOP', 'backward MFLOP'], flopsRows.map((r) => [r.name, (r.forward / 1e6).toFixed(2), (r.backward / 1e6).toFixed(2)])),
  '',
  `Peak GFLOP/s: tfjs wasm ${Object.entries(wasmPeak).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; torch ${Object.entries(torchPeak).map(([t, p]) => `${t} thread(s): ${Object.entries(p).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`).join('; ')}.`,
  `Same step? Engine ${sameStep('PyTorch (torch.abs)', ref)}`,
  ...(check ? [`Engine ${sameStep("PyTorch with tfjs's abs gradient (-1 at 0)", check)}`] : []),
].join('\n');
console.log(text);
if (values.out) {
  writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), case: c, spec, engineMs, engineTimes, python: Object.fromEntries([...py].map(([k, e]) => [k, { ms: median(e.times), times: e.times }])), wasmPeak, torchPeak, flops: { ...flops, rows: flopsRows }, load: [load0, load1] }, null, 1));
}
