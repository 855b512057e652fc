/**
 * npx tsx scripts/bench-stylegan3.ts [--variant t|r] [--backend wasm|cpu] [--steps 4] [--channel-base 32768] [--channel-max 512]
 * StyleGAN3 at 256 px with real widths (random weights, the official layout): ms per forward (render) and
 * per drag step (forward to the drag layer L5, backward, tracking; no frames; steps 1..steps-1), and peak RSS. Run it under
 * `/usr/bin/time -v` for the process's maximum resident set size as well.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { dragRun, generatorFromBytes, initBackend, randomModelBytes, type BackendName, type StyleGAN3Config } from '../engine/src/index.js';

const { values } = parseArgs({
  options: {
    variant: { type: 'string' },
    backend: { type: 'string' },
    steps: { type: 'string' },
    'channel-base': { type: 'string' },
    'channel-max': { type: 'string' },
  },
});
const variant = values.variant ?? 't';
const steps = Number(values.steps ?? 4);
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const timer = setInterval(sampleRss, 50);

const config: StyleGAN3Config = {
  architecture: 'stylegan3',
  name: `bench-sg3${variant}`,
  z_dim: 512,
  w_dim: 512,
  c_dim: 0,
  mapping_layers: 2,
  mapping_lr_multiplier: 0.01,
  img_resolution: 256,
  img_channels: 3,
  truncation_psi: 0.7,
  conv_clamp: 256,
  num_fp16_res: 4,
  channel_base: Number(values['channel-base'] ?? 32768),
  channel_max: Number(values['channel-max'] ?? 512),
  num_layers: 14,
  num_critical: 2,
  first_cutoff: 2,
  first_stopband: 2 ** 2.1,
  last_stopband_rel: 2 ** 0.3,
  margin_size: 10,
  output_scale: 0.25,
  conv_kernel: variant === 'r' ? 1 : 3,
  filter_size: 6,
  lrelu_upsampling: 2,
  use_radial_filters: variant === 'r',
  drag_layer: 5,
};

const info = await initBackend({ backend: (values.backend ?? 'wasm') as BackendName, log: () => {} });
const gen = generatorFromBytes(randomModelBytes(config, { seed: 1, biasStd: 0.1 }), config.name);
const latent = gen.latentFromSeed(0);
sampleRss();

const forward: number[] = [];
for (let i = 0; i < 2; i++) {
  const t0 = performance.now();
  gen.render(latent);
  forward.push(performance.now() - t0);
  sampleRss();
}

const stepMs: number[] = [];
let last = performance.now();
for await (const ev of dragRun(gen, {
  latent,
  points: [{ handle: [100, 128], target: [140, 128] }],
  options: { method: 'stabledrag', maxSteps: steps, stopDistance: 0, stallSteps: 0, imageEvery: 10_000 },
})) {
  sampleRss();
  const now = performance.now();
  // The last step event also renders the final image (a full forward), so it is not a drag step's cost.
  if (ev.type === 'step' && ev.step > 0 && ev.step < steps) stepMs.push(now - last);
  last = now;
}
clearInterval(timer);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  JSON.stringify({
    variant: `StyleGAN3-${variant.toUpperCase()}`,
    backend: info.name,
    channel_base: config.channel_base,
    channel_max: config.channel_max,
    layers: gen.featureLayers().map((l) => l.name),
    forward_ms: forward.map(Math.round),
    drag_step_ms: stepMs.map(Math.round),
    drag_step_median_ms: Math.round(median(stepMs)),
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
    tf_bytes_mb: Math.round(tf.memory().numBytes / 2 ** 20),
  }),
);
gen.dispose();
