/**
 * One engine process timing DragGAN drag steps, for `npm run bench:reference -- --widths ...` (which runs it
 * once per thread count, since the wasm backend's thread pool is fixed per process).
 *
 *   tsx scripts/bench-step.ts --spec spec.json --threads N
 *
 * The spec is the one training/reference/drag_step.py reads (model, seed, points, mask boxes, steps).
 * Prints one JSON line: per-step wall and process CPU times (ms), losses, tracked handles, the first Adam update, peak RSS and
 * the wasm heap size.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { dragRun, initBackend, loadGenerator, type DragStepEvent } from '../engine/src/index.js';

const { values } = parseArgs({ options: { spec: { type: 'string' }, threads: { type: 'string' } } });
const spec = JSON.parse(readFileSync(values.spec!, 'utf8')) as {
  model: string; seed: number; points: Array<{ handle: [number, number]; target: [number, number] }>;
  maskBoxes: Array<[number, number, number, number]>; steps: number; layers: number;
};
const info = await initBackend({ backend: 'wasm', threads: Number(values.threads ?? 1), log: () => {} });
const gen = await loadGenerator(spec.model);
const mask = (() => {
  if (!spec.maskBoxes.length) return undefined;
  const m = new Uint8Array(gen.width * gen.height);
  for (const [x0, y0, x1, y1] of spec.maskBoxes) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * gen.width + x] = 1;
  return m;
})();
const latent = gen.latentFromSeed(spec.seed);
const n = spec.layers * gen.wDim;
const times: number[] = [];
/** CPU time of the whole process (all threads) per step: less sensitive than wall time to other load. */
const cpuTimes: number[] = [];
const losses: number[] = [];
const handles: number[][][] = [];
let update0: number[] = [];
let last = performance.now();
let lastCpu = process.cpuUsage();
let peakTensorBytes = 0;
const run = dragRun(gen, {
  latent, points: spec.points, mask,
  options: { method: 'draggan', maxSteps: spec.steps, stopDistance: 0, stallSteps: 0, imageEvery: 10_000 },
});
for await (const ev of run) {
  const now = performance.now();
  const cpu = process.cpuUsage(lastCpu);
  if (ev.type === 'step' && ev.step < spec.steps) {
    times.push(now - last);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    losses.push((ev as DragStepEvent).loss);
    handles.push(ev.handles.map((h) => [...h]));
    if (ev.step === 1) update0 = Array.from(ev.latent.subarray(0, n), (v, i) => v - latent[i]);
  }
  peakTensorBytes = Math.max(peakTensorBytes, tf.memory().numBytes);
  last = performance.now();
  lastCpu = process.cpuUsage();
}
const wasmHeap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.byteLength ?? 0;
console.log(JSON.stringify({
  threads: info.threads, times, cpuTimes, losses, handles, update0,
  maxRssMB: process.resourceUsage().maxRSS / 1024, wasmHeapMB: wasmHeap / 2 ** 20, tensorMB: peakTensorBytes / 2 ** 20,
}));
process.exit(0);
