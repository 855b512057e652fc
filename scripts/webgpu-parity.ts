/**
 * npx tsx scripts/webgpu-parity.ts [--model DIR] [--steps 20] [--candidate webgpu] [--reference wasm]
 * Prints one JSON object: the adapter the candidate backend ran on and its differences from the reference
 * backend (forward pass, feature tap, gradient of a drag-like loss, a drag of --steps steps; 0: none).
 * Without --model it uses the tiny
 * parity fixture (32 px). Run with the software Vulkan driver's environment where no GPU is present
 * (tests/engine/webgpu.test.ts and scripts/gpu-check.sh do).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CONFIG_METADATA_KEY, generatorFromBytes, parseSafetensors, type BackendName, type ImageGenerator } from '../engine/src/index.js';
import { compareBackends } from '../engine/src/backends/parity.js';
import { webgpuAdapter } from '../engine/src/backends/webgpu.js';

const { values } = parseArgs({
  options: { steps: { type: 'string' }, model: { type: 'string' }, candidate: { type: 'string' }, reference: { type: 'string' } },
});
let makeGen: () => ImageGenerator;
let size = 32;
if (values.model) {
  const bytes = readFileSync(`${values.model}/model.safetensors`);
  makeGen = () => generatorFromBytes(bytes, values.model!);
  size = JSON.parse(parseSafetensors(bytes).metadata[CONFIG_METADATA_KEY]).img_resolution;
} else {
  const bytes = readFileSync(new URL('../tests/fixtures/parity/model.safetensors', import.meta.url));
  makeGen = () => generatorFromBytes(bytes, 'parity');
}
const steps = Number(values.steps ?? 20);
const candidate = (values.candidate ?? 'webgpu') as BackendName;
const report = await compareBackends(makeGen, {
  reference: (values.reference ?? 'wasm') as BackendName,
  candidate,
  // A handle a third of the way across, dragged a third further: the same shape at any size.
  drag: steps > 0 ? { steps, points: [{ handle: [Math.round(size * 0.3), Math.round(size / 2)], target: [Math.round(size * 0.6), Math.round(size / 2)] }] } : undefined,
});
console.log(JSON.stringify({ adapter: candidate === 'webgpu' ? webgpuAdapter() : undefined, ...report }));
