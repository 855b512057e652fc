/**
 * npx tsx scripts/bench-webgpu.ts [--sizes 128,256,512,1024] [--backend webgpu] [--steps 10] [--out DIR]
 *                                 [--channel-base 32768] [--channel-max 512]   (smaller: dry runs on a CPU)
 *                                 [--no-drag]   (forward and the bare step only: wasm at real widths is slow)
 *
 * Median ms of a forward pass (image, awaited read), of the engine's drag step (dragRun, DragGAN and
 * StableDrag, without and with a frame every step) and of a bare drag-shaped step (synthesis to the drag
 * block, an L1 loss on its features, the gradient w.r.t. the first 6 w+ vectors, one Adam update, the loss
 * read back) on random StyleGAN2 generators of real widths (channel_base 32768, channel_max 512, z/w 512,
 * 8 mapping layers), one per size. Prints one JSON line per size.
 *
 * Why not bench:engine: it renders and maps seeds with synchronous reads, which the webgpu backend cannot
 * do in Node (engine/src/backends/webgpu.ts); everything here reads with awaited reads. With --out, each
 * model is also written there (model.safetensors) for the PyTorch reference step.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { dragRun, generatorFromBytes, initBackend, type DragMethod, type ImageGenerator, randomModelBytes, type BackendName, type StyleGAN2Config } from '../engine/src/index.js';
import { webgpuAdapter } from '../engine/src/backends/webgpu.js';

const { values } = parseArgs({
  options: { 'no-drag': { type: 'boolean' }, 'channel-base': { type: 'string' }, 'channel-max': { type: 'string' }, sizes: { type: 'string' }, backend: { type: 'string' }, steps: { type: 'string' }, out: { type: 'string' } },
});
const sizes = (values.sizes ?? '128,256,512,1024').split(',').map(Number);
const steps = Number(values.steps ?? 10);
const channelBase = Number(values['channel-base'] ?? 32768);
const channelMax = Number(values['channel-max'] ?? 512);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** StyleGAN2's official channel rule, min(channel_base / res, channel_max); full width by default. */
function realWidthConfig(res: number): StyleGAN2Config {
  const channels: Record<string, number> = {};
  for (let r = 4; r <= res; r *= 2) channels[String(r)] = Math.min(Math.floor(channelBase / r), channelMax);
  // DragGAN drags on the 6th block's features (128 px for 256 px and larger models).
  const dragBlock = Math.min(128, res / 2);
  return {
    architecture: 'stylegan2-ada', name: `random-${res}`, domain: 'random', z_dim: channelMax, w_dim: channelMax, mapping_layers: 8,
    mapping_lr_multiplier: 0.01, img_resolution: res, channelBase, channelMax, img_channels: 3, channels, conv_clamp: 256, drag_block: dragBlock, truncation_psi: 0.7,
  };
}

/** Median ms per engine drag step (step 0, the set-up, and the last, an evaluation, left out). */
async function dragStepMs(gen: ImageGenerator, latent: Float32Array, method: DragMethod, withFrames: boolean): Promise<number> {
  const [w, h] = [gen.width, gen.height];
  const points = [{ handle: [Math.round(w * 0.3), Math.round(h * 0.5)] as [number, number], target: [Math.round(w * 0.6), Math.round(h * 0.5)] as [number, number] }];
  const times: number[] = [];
  let last = performance.now();
  const options = { method, maxSteps: steps + 1, stopDistance: 0, stallSteps: 0, imageEvery: withFrames ? 1 : 10_000 };
  for await (const ev of dragRun(gen, { latent, points, options })) {
    const now = performance.now();
    if (ev.type === 'step' && ev.step > 0 && ev.step <= steps) times.push(now - last);
    if (ev.type === 'end' && ev.error) throw new Error(`drag failed: ${ev.error.message}`);
    last = now;
  }
  return +median(times).toFixed(2);
}

const backend = await initBackend({ backend: (values.backend ?? 'webgpu') as BackendName });
for (const res of sizes) {
  const config = realWidthConfig(res);
  const bytes = randomModelBytes(config, { seed: res });
  if (values.out) {
    mkdirSync(`${values.out}/random-${res}`, { recursive: true });
    writeFileSync(`${values.out}/random-${res}/model.safetensors`, bytes);
  }
  const gen = generatorFromBytes(bytes, config.name);
  // The latent comes from a plain computation on the CPU side: mapping reads synchronously.
  const ws0 = tf.tensor2d(Float32Array.from({ length: gen.numWs * gen.wDim }, (_, i) => Math.sin(i) * 0.5), [gen.numWs, gen.wDim]);
  const layer = gen.defaultFeatureLayer;
  const forwardMs: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t = performance.now();
    const img = tf.tidy(() => gen.image(ws0));
    await img.data();
    img.dispose();
    if (i >= 2) forwardMs.push(performance.now() - t);
  }
  // Drag-shaped step: DragGAN optimises the first 6 w+ vectors with Adam (lr 2e-3).
  const L = 6;
  const opt = tf.variable(tf.slice(ws0, [0, 0], [L, gen.wDim]));
  const rest = tf.slice(ws0, [L, 0], [gen.numWs - L, gen.wDim]);
  const adam = tf.train.adam(2e-3);
  const features = (ws: tf.Tensor2D) => {
    let f: tf.Tensor4D | undefined;
    gen.synthesize(ws, layer, undefined, (i, x) => {
      if (i === layer) f = x;
    });
    return f!;
  };
  const f0 = tf.tidy(() => features(ws0));
  const stepMs: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t = performance.now();
    const loss = adam.minimize(() => tf.mean(tf.abs(tf.sub(tf.slice(features(tf.concat([opt, rest], 0)), [0, 1, 1, 0], [-1, -1, -1, -1]), tf.slice(f0, [0, 0, 0, 0], [-1, f0.shape[1] - 1, f0.shape[2] - 1, -1])))) as tf.Scalar, true, [opt])!;
    await loss.data();
    loss.dispose();
    if (i >= 2) stepMs.push(performance.now() - t);
  }
  const memory = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  const latent = (await ws0.data()) as Float32Array;
  if (!values['no-drag']) await dragStepMs(gen, latent, 'draggan', false); // warm-up: shader compilation
  const drag = values['no-drag']
    ? {}
    : {
        dragganStepMs: await dragStepMs(gen, latent, 'draggan', false),
        stabledragStepMs: await dragStepMs(gen, latent, 'stabledrag', false),
        stabledragStepWithFrameMs: await dragStepMs(gen, latent, 'stabledrag', true),
      };
  const featureLayer = gen.featureLayers()[layer].name;
  tf.dispose([ws0, opt, rest, f0]);
  adam.dispose();
  gen.dispose();
  console.log(
    JSON.stringify({
      backend: backend.name, adapter: backend.name === 'webgpu' ? webgpuAdapter()?.description : undefined, resolution: res, channelBase, channelMax,
      featureLayer, steps, forwardMs: +median(forwardMs).toFixed(2), ...drag, dragShapedStepMs: +median(stepMs).toFixed(2),
      gpuBytes: memory.numBytesInGPU,
    }),
  );
}
