// Throughput check: npx tsx training/faces/bench.ts [count] [size]
// Renders faces in-process (no disk I/O) and prints images/s on one core.
import { sampleFaceParams } from './params.js';
import { renderFace } from './render.js';

const count = Number(process.argv[2] ?? 300);
const size = Number(process.argv[3] ?? 128);
for (let i = 0; i < 20; i++) renderFace(sampleFaceParams(1e6 + i), size); // JIT warm-up
const t0 = performance.now();
let sum = 0;
for (let i = 0; i < count; i++) sum += renderFace(sampleFaceParams(i), size).rgb[0];
const s = (performance.now() - t0) / 1000;
console.log(`${count} faces at ${size}px in ${s.toFixed(2)} s: ${(count / s).toFixed(1)} img/s, ` +
  `30k in ${((30000 / count) * s / 60).toFixed(1)} min (checksum ${sum})`);
