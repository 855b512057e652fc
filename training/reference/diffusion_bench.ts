// Speed of the diffusion UNet on this machine: npx tsx training/reference/diffusion_bench.ts [sizes...]
// Sizes: tiny (the parity fixture's config), small (64/128/256 channels), sd15 (Stable Diffusion 1.5's UNet,
// random weights; on wasm it aborts: 3.4 GB of fp32 weights plus XNNPACK's packed copies exceed wasm32's
// 4 GiB, so it is for the backends with their own memory, tensorflow and webgpu). For each: parameters, load time, one forward pass (the DDIM step's cost) and one forward +
// backward to the latent through the third-from-last up block's features (the drag step's cost), as the
// median of a few runs, on the wasm backend with the engine's default threads.
import * as tf from '@tensorflow/tfjs';
import { initBackend, randomUNet, type UNetConfig } from '../../engine/src/index.js';

const base = { inChannels: 4, outChannels: 4, sampleSize: 64, normEps: 1e-5, flipSinToCos: true, freqShift: 0 };
const SIZES: Record<string, { config: UNetConfig; latent: number; runs: number }> = {
  tiny: {
    config: { ...base, blockOutChannels: [16, 32], layersPerBlock: 1, downBlockTypes: ['CrossAttnDownBlock2D', 'DownBlock2D'], upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D'], crossAttentionDim: 32, heads: [4, 4], normNumGroups: 8 },
    latent: 8,
    runs: 5,
  },
  small: {
    config: {
      ...base,
      blockOutChannels: [64, 128, 256],
      layersPerBlock: 1,
      downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
      crossAttentionDim: 256,
      heads: [8, 8, 8],
      normNumGroups: 32,
    },
    latent: 32,
    runs: 3,
  },
  sd15: {
    config: {
      ...base,
      blockOutChannels: [320, 640, 1280, 1280],
      layersPerBlock: 2,
      downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
      crossAttentionDim: 768,
      heads: [8, 8, 8, 8],
      normNumGroups: 32,
    },
    latent: 16,
    runs: 1,
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(fn: () => tf.Tensor): Promise<number> {
  const t0 = performance.now();
  const out = fn();
  await out.data();
  out.dispose();
  return (performance.now() - t0) / 1000;
}

async function bench(name: string): Promise<void> {
  const { config, latent, runs } = SIZES[name];
  const t0 = performance.now();
  const unet = randomUNet(config);
  const load = (performance.now() - t0) / 1000;
  const params = tf.memory().numBytes / 4;
  const x = tf.randomNormal([1, latent, latent, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
  const t = tf.tensor1d([601]);
  const ctx = tf.randomNormal([1, 77, config.crossAttentionDim], 0, 1, 'float32', 2) as tf.Tensor3D;
  const forward = () => unet.apply(x, t, ctx).noise;
  const dragStep = () =>
    tf.grad((z: tf.Tensor) => {
      const { noise, upFeatures } = unet.apply(z as tf.Tensor4D, t, ctx, true);
      const f = upFeatures![Math.max(0, upFeatures!.length - 2)];
      const loss = tf.sum(tf.abs(f));
      tf.dispose([noise, ...upFeatures!]);
      return loss;
    })(x);
  await timed(forward); // warm-up: kernels, weight layout
  const fwd: number[] = [];
  const step: number[] = [];
  for (let i = 0; i < runs; i++) fwd.push(await timed(forward));
  for (let i = 0; i < runs; i++) step.push(await timed(dragStep));
  console.log(
    `${name}: ${(params / 1e6).toFixed(1)} M params (fp32 ${((params * 4) / 2 ** 20).toFixed(0)} MiB), latent ${latent}x${latent} (${latent * 8} px): ` +
      `load ${load.toFixed(1)} s, forward ${median(fwd).toFixed(3)} s, forward+backward ${median(step).toFixed(3)} s (median of ${runs})`,
  );
  tf.dispose([x, t, ctx]);
  unet.dispose();
}

const info = await initBackend({ backend: 'wasm', log: () => {} });
console.log(`backend ${info.name}`);
for (const name of process.argv.slice(2).length ? process.argv.slice(2) : ['tiny', 'small']) await bench(name);
