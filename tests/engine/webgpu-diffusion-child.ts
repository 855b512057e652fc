/**
 * Child process of webgpu.test.ts (the software Vulkan driver is only visible to a process started with
 * its environment). Runs the first steps of a diffusion drag (DragDiffusion with a mask, so the fixed-region
 * term and tracking both run) on the tiny fixture's UNet, on wasm then on webgpu, and prints one JSON line
 * with each backend's losses, tracked handles and the latent after two updates, their differences, and the
 * tensors each run left behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  DDIMScheduler,
  DiffusionDragSession,
  initBackend,
  loadDDIMConfig,
  loadDiffusionFolder,
  parseSafetensors,
  resolveDiffusionDragOptions,
  type BackendName,
  type PointPair,
} from '../../engine/src/index.js';
import { difference } from '../../engine/src/backends/parity.js';

const TINY_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'diffusion', 'tiny');
const read = (file: string) => parseSafetensors(new Uint8Array(fs.readFileSync(path.join(TINY_DIR, file)))).tensors;
const drag = read('drag-reference.safetensors');
const prompts = read('reference.safetensors');
const get = (tensors: typeof drag, name: string) => tensors.get(name)!;
const STEPS = 3;

async function run(backend: BackendName) {
  await initBackend({ backend, log: () => {} });
  const tensorsBefore = tf.memory().numTensors;
  const models = loadDiffusionFolder(TINY_DIR, ['unet']);
  const c = get(prompts, 'unet.encoder_hidden_states');
  const context = tf.tensor3d(c.data.subarray(0, c.shape[1] * c.shape[2]), [1, c.shape[1], c.shape[2]]);
  const code = get(drag, 'drag.code0');
  const code0 = tf.tidy(() => tf.transpose(tf.tensor4d(code.data, code.shape as [number, number, number, number]), [0, 2, 3, 1]));
  const h = get(drag, 'drag.handles').data;
  const g = get(drag, 'drag.targets').data;
  const points: PointPair[] = [0, 1].map((i) => ({ handle: [2 * h[2 * i], 2 * h[2 * i + 1]], target: [2 * g[2 * i], 2 * g[2 * i + 1]] }));
  const mask = Uint8Array.from(get(drag, 'drag.mask').data, (v) => (v > 0 ? 1 : 0));
  const options = resolveDiffusionDragOptions({ method: 'dragdiffusion', lambda: 0.1, rM: 1, maxSteps: STEPS + 1, featureBlock: 1 }); // the reference's: the tiny UNet's last up block
  const scheduler = new DDIMScheduler(10, loadDDIMConfig(TINY_DIR));
  const session = new DiffusionDragSession(models.unet!, scheduler, context, code0, get(drag, 'drag.t').data[0], 16, 16, points, mask, options);
  const losses: number[] = [];
  const handles: number[][][] = [];
  let latent: Float32Array = new Float32Array(0);
  let clean: Float32Array = new Float32Array(0);
  let start: Float32Array = new Float32Array(0);
  let cleanAhead = 0;
  for (let k = 0; k < STEPS; k++) {
    const { state, predicted, predictedValues } = await session.step(k);
    // The clean latent as the drag's gradient pass computed it, and as the read-ahead read it (webgpu).
    clean = (await predicted.data()) as Float32Array;
    if (predictedValues) cleanAhead = Math.max(cleanAhead, difference(clean, predictedValues).maxAbs);
    predicted.dispose();
    losses.push(state.loss);
    handles.push(state.handles.map((p) => [...p]));
    latent = state.latent;
    if (k === 0) start = state.latent;
  }
  session.dispose();
  tf.dispose([context, code0]);
  models.dispose();
  return { losses, handles, start, latent, clean, leaked: tf.memory().numTensors - tensorsBefore, cleanAhead };
}

const a = await run('wasm');
const b = await run('webgpu');
let handleMismatches = 0;
a.handles.forEach((hs, i) => {
  if (hs.some((p, j) => Math.hypot(p[0] - b.handles[i][j][0], p[1] - b.handles[i][j][1]) > 0.5)) handleMismatches++;
});
console.log(
  JSON.stringify({
    backend: tf.getBackend(),
    steps: STEPS,
    losses: { wasm: a.losses, webgpu: b.losses },
    loss: difference(Float32Array.from(a.losses), Float32Array.from(b.losses)),
    latent: difference(a.latent, b.latent),
    clean: difference(a.clean, b.clean),
    // How far the updates moved the latent on wasm: the differences above must be small against it.
    moved: difference(a.start, a.latent).maxAbs,
    handleMismatches,
    leaked: { wasm: a.leaked, webgpu: b.leaked },
    cleanAhead: b.cleanAhead,
  }),
);
