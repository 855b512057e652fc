/**
 * npx tsx scripts/webgpu-parity.ts [--model DIR] [--candidate webgpu] [--reference wasm]
 * Prints one JSON object: the adapter the candidate backend ran on and its differences from the reference
 * backend (forward pass, feature tap, gradient of a drag-like loss). Without --model it uses the tiny
 * parity fixture (32 px). Run with the software Vulkan driver's environment where no GPU is present
 * (tests/engine/webgpu.test.ts and scripts/gpu-check.sh do).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generatorFromBytes, type BackendName, type ImageGenerator } from '../engine/src/index.js';
import { compareBackends } from '../engine/src/backends/parity.js';
import { webgpuAdapter } from '../engine/src/backends/webgpu.js';

const { values } = parseArgs({
  options: { model: { type: 'string' }, candidate: { type: 'string' }, reference: { type: 'string' } },
});
let makeGen: () => ImageGenerator;
if (values.model) {
  const bytes = readFileSync(`${values.model}/model.safetensors`);
  makeGen = () => generatorFromBytes(bytes, values.model!);
} else {
  const bytes = readFileSync(new URL('../tests/fixtures/parity/model.safetensors', import.meta.url));
  makeGen = () => generatorFromBytes(bytes, 'parity');
}
const candidate = (values.candidate ?? 'webgpu') as BackendName;
const report = await compareBackends(makeGen, {
  reference: (values.reference ?? 'wasm') as BackendName,
  candidate,
});
console.log(JSON.stringify({ adapter: candidate === 'webgpu' ? webgpuAdapter() : undefined, ...report }));
