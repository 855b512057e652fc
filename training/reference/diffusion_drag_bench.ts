// Speed of a whole diffusion drag on this machine: npx tsx training/reference/diffusion_drag_bench.ts [tiny|small ...]
// Random weights (randomUNet / randomVAE / randomTextEncoder) at several sizes: tiny (the parity fixture's UNet,
// 16 px images), small (UNet 64/128/256 channels, a 4-block VAE 32/64/128/128: 256 px images, 32x32
// latents), and the 128 px candidates timed to pick the bundled faces model (faces is the one trained). A brief run (2 LoRA steps, 10 DDIM steps at strength 0.7, 3 drag steps) times each stage per
// step; the total for DragDiffusion's defaults (80 LoRA steps of batch 4, 35 inversion steps, up to 80 drag
// steps, 35 denoising steps of the batch of two) is extrapolated from those per-step costs. wasm backend,
// the engine's default threads. Outputs mean nothing (random weights); only the times matter.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  diffusionDragRun,
  initBackend,
  loadTokenizer,
  randomTextEncoder,
  randomUNet,
  randomVAE,
  SD15_DDIM,
  type DiffusionDragModels,
  type UNetConfig,
  type VAEConfig,
} from '../../engine/src/index.js';

const TINY_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'diffusion', 'tiny');
const unetBase = { inChannels: 4, outChannels: 4, normEps: 1e-5, flipSinToCos: true, freqShift: 0 };
const vaeBase = { inChannels: 3, outChannels: 3, latentChannels: 4, layersPerBlock: 1, scalingFactor: 0.18215 };

const SIZES: Record<string, { unet: UNetConfig; vae: VAEConfig; context: number }> = {
  tiny: {
    unet: { ...unetBase, sampleSize: 8, blockOutChannels: [16, 32], layersPerBlock: 1, downBlockTypes: ['CrossAttnDownBlock2D', 'DownBlock2D'], upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D'], crossAttentionDim: 32, heads: [4, 4], normNumGroups: 8 },
    vae: { ...vaeBase, blockOutChannels: [16, 32], normNumGroups: 8 } as VAEConfig,
    context: 32,
  },
  small: {
    unet: {
      ...unetBase,
      sampleSize: 32,
      blockOutChannels: [64, 128, 256],
      layersPerBlock: 1,
      downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
      crossAttentionDim: 256,
      heads: [8, 8, 8],
      normNumGroups: 32,
    },
    vae: { ...vaeBase, blockOutChannels: [32, 64, 128, 128], normNumGroups: 32 } as VAEConfig,
    context: 256,
  },
  // Candidates for the bundled faces model: 128 px images.
  f8: {
    unet: { ...unetBase, sampleSize: 16, blockOutChannels: [32, 64, 128], layersPerBlock: 1, downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'], upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'], crossAttentionDim: 64, heads: [4, 4, 4], normNumGroups: 16 },
    vae: { ...vaeBase, blockOutChannels: [32, 64, 64, 128], normNumGroups: 16 } as VAEConfig,
    context: 64,
  },
  f4: {
    unet: { ...unetBase, sampleSize: 32, blockOutChannels: [32, 64, 128], layersPerBlock: 1, downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'], upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'], crossAttentionDim: 64, heads: [4, 4, 4], normNumGroups: 16 },
    vae: { ...vaeBase, blockOutChannels: [32, 64, 128], normNumGroups: 16 } as VAEConfig,
    context: 64,
  },
  f8s: {
    unet: { ...unetBase, sampleSize: 16, blockOutChannels: [32, 64, 64], layersPerBlock: 1, downBlockTypes: ['DownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'], upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'], crossAttentionDim: 64, heads: [4, 4, 4], normNumGroups: 16 },
    vae: { ...vaeBase, blockOutChannels: [16, 32, 64, 64], normNumGroups: 8 } as VAEConfig,
    context: 64,
  },
  // The bundled faces model (training/diffusion/model_config.py): f8's sizes, attention only at 8x8 and 4x4.
  faces: {
    unet: { ...unetBase, sampleSize: 16, blockOutChannels: [32, 64, 128], layersPerBlock: 1, downBlockTypes: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'], upBlockTypes: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'], crossAttentionDim: 64, heads: [4, 4, 4], normNumGroups: 16 },
    vae: { ...vaeBase, blockOutChannels: [16, 32, 64, 64], normNumGroups: 8 } as VAEConfig,
    context: 64,
  },
  f4lite: {
    unet: { ...unetBase, sampleSize: 32, blockOutChannels: [32, 64, 128], layersPerBlock: 1, downBlockTypes: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'], upBlockTypes: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'], crossAttentionDim: 64, heads: [4, 4, 4], normNumGroups: 16 },
    vae: { ...vaeBase, blockOutChannels: [32, 64, 128], normNumGroups: 16 } as VAEConfig,
    context: 64,
  },
};

// LORA_STEPS / LORA_BATCH (default 2 / 4) shorten the LoRA stage where one step of batch 4 is too slow to wait for.
const loraSteps = Number(process.env.LORA_STEPS ?? 2);
const loraBatch = Number(process.env.LORA_BATCH ?? 4);

async function bench(name: string): Promise<void> {
  const size = SIZES[name];
  const tokenizer = loadTokenizer(TINY_DIR);
  const models: DiffusionDragModels = {
    unet: randomUNet(size.unet),
    vae: randomVAE(size.vae),
    textEncoder: randomTextEncoder({ vocabSize: 626, hiddenSize: size.context, intermediateSize: 4 * size.context, layers: 2, heads: 4, maxPositions: 77, act: 'quick_gelu', layerNormEps: 1e-5 }),
    tokenizer,
    ddim: SD15_DDIM,
  };
  const side = size.unet.sampleSize * models.vae.downFactor;
  const data = new Uint8ClampedArray(side * side * 4);
  for (let p = 0; p < side * side; p++) data.set([(p % side) % 256, Math.floor(p / side) % 256, 120, 255], p * 4);
  const at = (f: number) => Math.round(f * (side - 1));
  const times: Record<string, number[]> = { lora: [], invert: [], step: [], denoise: [] };
  let last = performance.now();
  const started = last;
  for await (const ev of diffusionDragRun(models, {
    image: { width: side, height: side, data },
    prompt: 'a photo of a face',
    points: [{ handle: [at(0.4), at(0.5)], target: [at(0.6), at(0.5)] }],
    options: { ddimSteps: 10, maxSteps: 3, decodeEvery: 1000, lora: { steps: loraSteps, batch: loraBatch } },
  })) {
    const now = performance.now();
    const key = ev.type === 'stage' ? ev.stage : ev.type;
    if (key in times) times[key].push((now - last) / 1000);
    process.stderr.write(`  ${key} ${((now - last) / 1000).toFixed(2)} s\n`);
    last = now;
    if (ev.type === 'end' && ev.reason === 'error') throw new Error(ev.error?.message);
  }
  const total = (performance.now() - started) / 1000;
  // Per step of batch 4, scaled linearly from the batch measured.
  const lora = times.lora.length ? ((times.lora.reduce((a, b) => a + b, 0) / times.lora.length) * 4) / loraBatch : NaN;
  // The invert event's time includes the text and VAE encodings (and LoRA when there is none): a bound.
  const invert = times.invert[0] / 7;
  // Drag steps after the first (which also fits the trackers and decodes the first preview).
  const drag = times.step.slice(1, 3).reduce((a, b) => a + b, 0) / 2;
  const denoise = times.denoise.reduce((a, b) => a + b, 0) / 7;
  const defaults = 80 * lora + 35 * invert + 80 * drag + 35 * denoise;
  console.log(
    `${name} (${side} px, latent ${size.unet.sampleSize}, UNet ${(models.unet.parameterCount() / 1e6).toFixed(2)} M): brief run ${total.toFixed(1)} s; ` +
      `per step: LoRA (batch 4) ${lora.toFixed(2)} s, inversion ${invert.toFixed(2)} s, drag ${drag.toFixed(2)} s, denoise (batch 2) ${denoise.toFixed(2)} s; ` +
      `DragDiffusion defaults (80 LoRA + 35 inv + 80 drag + 35 denoise): ${defaults.toFixed(0)} s; without LoRA ${(defaults - 80 * lora).toFixed(0)} s`,
  );
  models.unet.dispose();
  models.vae.dispose();
  models.textEncoder.dispose();
}

async function main(): Promise<void> {
  await initBackend({ backend: 'wasm' });
  const names = process.argv.slice(2);
  for (const name of names.length ? names : ['tiny', 'small']) {
    if (!SIZES[name]) throw new Error(`unknown size '${name}' (${Object.keys(SIZES).join(', ')})`);
    await bench(name);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
