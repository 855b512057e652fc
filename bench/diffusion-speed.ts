/**
 * Speed of the diffusion drag at a given model size, with seeded random weights (randomUNet and friends):
 * an edit timed per stage with
 * diffusion-stages.ts, extrapolated to DragDiffusion's defaults (the engine's DEFAULT_DIFFUSION_DRAG), and
 * the UNet alone (one forward pass, one forward + backward to the latent through the drag's feature block)
 * with awaited reads, which every backend can do. Outputs mean nothing; only the times matter.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  ConfigReader, DDIMScheduler, DEFAULT_DIFFUSION_DRAG, diffusionDragRun, loadDDIMConfig, loadTokenizer, randomTextEncoder, randomUNet, randomVAE, readTextEncoderConfig,
  readUNetConfig, readVAEConfig, supervisedUpBlock, type DDIMConfig, type DiffusionDragModels, type TextEncoderConfig, type UNetConfig, type VAEConfig,
} from '../engine/src/index.js';
import { addEvent, emptyStageTimes, type DiffusionStage, type StageTimes } from './diffusion-stages.js';

export interface SpeedModelSpec {
  name: string;
  unet: UNetConfig;
  vae: VAEConfig;
  text: TextEncoderConfig;
  ddim?: DDIMConfig;
}

/** Stable Diffusion 1.5's published configs (runwayml/stable-diffusion-v1-5: unet, vae, text_encoder). */
export const SD15: SpeedModelSpec = {
  name: 'SD 1.5',
  unet: {
    inChannels: 4, outChannels: 4, sampleSize: 64, blockOutChannels: [320, 640, 1280, 1280], layersPerBlock: 2,
    downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
    upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    crossAttentionDim: 768, heads: [8, 8, 8, 8], normNumGroups: 32, normEps: 1e-5, flipSinToCos: true, freqShift: 0,
  },
  vae: { inChannels: 3, outChannels: 3, latentChannels: 4, blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2, normNumGroups: 32, scalingFactor: 0.18215 },
  text: { vocabSize: 49408, hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12, maxPositions: 77, act: 'quick_gelu', layerNormEps: 1e-5 },
};

/** The configs of a diffusers-layout folder (its weights are not read). */
export function specFromFolder(dir: string): SpeedModelSpec {
  const read = (part: string) => ConfigReader.parse(readFileSync(path.join(dir, part, 'config.json'), 'utf8'), `${part}/config.json`);
  return { name: path.basename(path.resolve(dir)), unet: readUNetConfig(read('unet')), vae: readVAEConfig(read('vae')), text: readTextEncoderConfig(read('text_encoder')), ddim: loadDDIMConfig(dir) };
}

/** Random-weight models of the spec; the tokenizer (small: only its ids matter) is read from `tokenizerDir`. */
export function randomModels(spec: SpeedModelSpec, tokenizerDir: string, ddim: DDIMConfig): DiffusionDragModels {
  return { unet: randomUNet(spec.unet), vae: randomVAE(spec.vae), textEncoder: randomTextEncoder(spec.text), tokenizer: loadTokenizer(tokenizerDir), ddim: spec.ddim ?? ddim };
}

export interface BriefEdit {
  loraSteps: number;
  loraBatch: number;
  ddimSteps: number;
  maxSteps: number;
}

export interface EditTiming {
  seconds: number;
  stages: StageTimes;
  /** Seconds per LoRA step (at the batch measured), per inversion step, per drag step, per denoising step. */
  perStep: Record<DiffusionStage, number>;
  /** The whole edit at DragDiffusion's defaults, from the per-step costs (LoRA scaled linearly in batch). */
  defaults: { seconds: number; withoutLora: number; loraSteps: number; loraBatch: number; inversionSteps: number; dragSteps: number };
  error?: string;
}

/** A smooth synthetic image (gradients): content does not matter to the times. */
export function syntheticImage(side: number): { width: number; height: number; data: Uint8ClampedArray } {
  const data = new Uint8ClampedArray(side * side * 4);
  for (let p = 0; p < side * side; p++) data.set([(255 * (p % side)) / side, (255 * Math.floor(p / side)) / side, 120, 255], p * 4);
  return { width: side, height: side, data };
}

export async function timeEdit(models: DiffusionDragModels, side: number, b: BriefEdit): Promise<EditTiming> {
  const stages = emptyStageTimes();
  const at = (f: number) => Math.round(f * (side - 1));
  let error: string | undefined;
  const t0 = performance.now();
  let last = t0;
  try {
    for await (const ev of diffusionDragRun(models, {
      image: syntheticImage(side),
      prompt: 'a face',
      points: [{ handle: [at(0.4), at(0.5)], target: [at(0.6), at(0.5)] }],
      // The tracker must not stop the run early: the target is out of reach in maxSteps steps.
      options: { ddimSteps: b.ddimSteps, maxSteps: b.maxSteps, decodeEvery: 1000, lora: { steps: b.loraSteps, batch: b.loraBatch } },
    })) {
      const now = performance.now();
      addEvent(stages, ev, (now - last) / 1000);
      last = now;
      if (ev.type === 'end' && ev.reason === 'error') error = ev.error?.message;
    }
  } catch (err) {
    error = (err as Error).message;
  }
  const seconds = (performance.now() - t0) / 1000;
  const invSteps = new DDIMScheduler(b.ddimSteps, models.ddim).stepsFor(DEFAULT_DIFFUSION_DRAG.inversionStrength);
  const perStep: Record<DiffusionStage, number> = {
    lora: stages.counts.lora ? stages.seconds.lora / stages.counts.lora : NaN,
    invert: stages.seconds.invert / invSteps,
    drag: stages.counts.drag ? stages.seconds.drag / stages.counts.drag : NaN,
    denoise: stages.seconds.denoise / invSteps,
  };
  const d = DEFAULT_DIFFUSION_DRAG;
  const dInv = new DDIMScheduler(d.ddimSteps, models.ddim).stepsFor(d.inversionStrength);
  const withoutLora = dInv * perStep.invert + d.maxSteps * perStep.drag + dInv * perStep.denoise;
  const lora = d.lora.steps * ((perStep.lora * d.lora.batch) / b.loraBatch);
  return {
    seconds,
    stages,
    perStep,
    defaults: { seconds: withoutLora + lora, withoutLora, loraSteps: d.lora.steps, loraBatch: d.lora.batch, inversionSteps: dInv, dragSteps: d.maxSteps },
    ...(error ? { error } : {}),
  };
}

const median = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)];

/**
 * Median seconds of the UNet alone on a latent of the model's sample size: a forward pass (one DDIM step)
 * and a forward + backward to the latent through the drag's feature block (the core of a drag step), each
 * ended by an awaited read.
 */
export async function timeUNet(models: DiffusionDragModels, repeats: number): Promise<{ forward: number; forwardBackward: number }> {
  const { unet, textEncoder, tokenizer } = models;
  const s = unet.config.sampleSize;
  const ctx = textEncoder.encode([tokenizer.encode('a face')]);
  const x = tf.randomNormal([1, s, s, unet.config.inChannels], 0, 1, 'float32', 7) as tf.Tensor4D;
  const t = tf.tensor1d([500], 'float32');
  const block = supervisedUpBlock(unet.config.upBlockTypes.length);
  const grad = tf.grad((lat: tf.Tensor) => tf.sum(unet.apply(lat as tf.Tensor4D, t, ctx, true).upFeatures![block]));
  const time = async (f: () => tf.Tensor) => {
    const out: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t1 = performance.now();
      const y = f();
      await y.data();
      y.dispose();
      out.push((performance.now() - t1) / 1000);
    }
    return median(out);
  };
  try {
    return { forward: await time(() => tf.tidy(() => unet.apply(x, t, ctx).noise)), forwardBackward: await time(() => tf.tidy(() => grad(x))) };
  } finally {
    tf.dispose([ctx, x, t]);
  }
}
