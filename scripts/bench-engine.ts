/**
 * npm run bench:engine [-- --model DIR] [--backend wasm|cpu|tensorflow] [--steps 30]
 * Median ms per forward (render), per drag step without and with a frame (forward + backward + tracking
 * [+ the rest of synthesis]), and peak memory, on the selected backend. Without a trained model it uses a
 * random-weight stand-in with the bundled model's planned config.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  defaultModelPath,
  dragRun,
  FACES128_CONFIG,
  generatorFromBytes,
  initBackend,
  loadGenerator,
  randomModelBytes,
  type BackendName,
  type DragMethod,
  type ImageGenerator,
} from '../engine/src/index.js';

const { values } = parseArgs({
  options: { model: { type: 'string' }, backend: { type: 'string' }, steps: { type: 'string' }, method: { type: 'string' } },
});
const steps = Number(values.steps ?? 30);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

async function stepTimes(gen: ImageGenerator, latent: Float32Array, method: DragMethod, withImages: boolean): Promise<number[]> {
  const times: number[] = [];
  let last = performance.now();
  const run = dragRun(gen, {
    latent,
    points: [
      { handle: [48, 70], target: [58, 80] },
      { handle: [80, 70], target: [70, 80] },
    ],
    options: { method, maxSteps: steps, stopDistance: 0, stallSteps: 0, imageEvery: withImages ? 1 : 10_000 },
  });
  for await (const ev of run) {
    const now = performance.now();
    // Step 0 carries one-time set-up (templates, tracker fitting); the last step is an evaluation only.
    if (ev.type === 'step' && ev.step > 0 && ev.step < steps) times.push(now - last);
    last = now;
    sampleRss();
  }
  return times;
}

const backend = await initBackend({ backend: values.backend as BackendName | undefined });
const modelPath = values.model ?? defaultModelPath();
const gen = existsSync(modelPath) ? await loadGenerator(modelPath) : generatorFromBytes(randomModelBytes(FACES128_CONFIG, { seed: 1 }), 'random faces128 stand-in');
const modelName = existsSync(modelPath) ? modelPath : 'random-weight faces128 stand-in (planned config)';
const latent = gen.latentFromSeed(7);

const forward: number[] = [];
for (let i = 0; i < steps + 3; i++) {
  const t = performance.now();
  gen.render(latent);
  if (i >= 3) forward.push(performance.now() - t);
  sampleRss();
}
const method = (values.method ?? 'stabledrag') as DragMethod;
await stepTimes(gen, latent, method, false); // warm-up: kernels and wasm memory growth
const noImage = await stepTimes(gen, latent, method, false);
const withImage = await stepTimes(gen, latent, method, true);
const nn = await stepTimes(gen, latent, 'draggan', false);

const result = {
  model: modelName,
  width: gen.width,
  height: gen.height,
  featureLayer: gen.featureLayers()[gen.defaultFeatureLayer].name,
  backend: backend.name,
  steps,
  forwardMs: +median(forward).toFixed(1),
  [`${method}StepMs`]: +median(noImage).toFixed(1),
  [`${method}StepWithFrameMs`]: +median(withImage).toFixed(1),
  dragganStepMs: +median(nn).toFixed(1),
  peakRssMiB: Math.round(peakRss / 2 ** 20),
  tensorMiB: +(tf.memory().numBytes / 2 ** 20).toFixed(1),
};
console.log(JSON.stringify(result, null, 2));
