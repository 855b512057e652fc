/**
 * A diffusion drag on a worker thread (DragDiffusion / StableDrag-Diff, engine/src/diffusion/drag.ts): the room's
 * image decoded, the engine's run driven, and each event posted as a step message. LoRA, DDIM inversion and the
 * final denoising are stage messages (no record: the recorder stores only drag steps); every drag step records its
 * clean latent (the predicted image's, which the VAE alone decodes) and a lossless frame: the VAE decode of the
 * predicted image where the engine made one (every `decodeEvery` steps, the first and the last), else the cheap
 * latent preview scaled up to the image's size, so replay and export never need the model (a fork from a preview
 * step decodes the clean latent through a render job).
 */
import sharp from 'sharp';
import type { DragEndMessage, DiffusionDragJobRequest, DragStepMessage } from './worker-protocol.js';
import { encodeImage, type RGBA } from './frame-encoder.js';

type Engine = typeof import('../../engine/src/index.js');
type DiffusionDragModels = import('../../engine/src/index.js').DiffusionDragModels;

async function decodeRGBA(bytes: Uint8Array): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength) };
}

/** The latent preview (latent resolution) at the image's size, each latent cell a block of pixels. */
export function upscaleNearest(img: RGBA, width: number, height: number): RGBA {
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor((y * img.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor((x * img.width) / width));
      const s = (sy * img.width + sx) * 4;
      out.set(img.data.subarray(s, s + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data: out };
}

function errorOf(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'engine-failure', message: String(e?.message ?? err) };
}

export async function runDiffusionDragJob(
  engine: Engine, models: DiffusionDragModels, job: DiffusionDragJobRequest, signal: AbortSignal, post: (step: DragStepMessage) => void,
): Promise<DragEndMessage> {
  const image = await decodeRGBA(job.image);
  const s = job.settings;
  let run;
  try {
    run = engine.diffusionDragRun(
      models,
      {
        image, prompt: job.prompt, points: job.points, mask: job.mask,
        options: engine.roomSettingsToOptions(s),
      },
      signal,
    );
  } catch (err) {
    // Refused before anything ran (the image does not fit the model, a point outside it): the room keeps its image.
    return { reason: 'error', steps: 0, error: errorOf(err) };
  }
  let last: { latent: Float32Array; handles: [number, number][] } | undefined;
  let lastStep = 0;
  let t0 = performance.now();
  const elapsed = () => {
    const ms = performance.now() - t0;
    t0 = performance.now();
    return ms;
  };
  for await (const ev of run) {
    if (ev.type === 'end') {
      // The room takes the result only when the final denoising ran; a drag stopped earlier leaves its image as it was.
      const final = ev.image && last ? { latent: last.latent, image: await encodeImage(ev.image, 'png'), handles: last.handles } : undefined;
      return { reason: ev.reason, steps: ev.steps, ...(ev.error ? { error: ev.error } : {}), final };
    }
    if (ev.type === 'stage') {
      // No image: participants keep seeing the newest frame (the room's image before the first step).
      post({
        step: lastStep, handles: last?.handles ?? job.points.map((p) => p.handle), distances: [], confidences: [],
        diffusion: { stage: ev.stage, stageStep: ev.step, stageSteps: ev.steps, ...(ev.loss !== undefined ? { loss: ev.loss } : {}) },
        elapsedMs: elapsed(),
      });
      continue;
    }
    const decoded = !!ev.image;
    const rgba = ev.image ?? upscaleNearest(ev.preview, image.width, image.height);
    const frame = await encodeImage(rgba, job.frameFormat, job.frameQuality);
    const stored = await encodeImage(rgba, 'webp-lossless');
    // The clean latent, not the noisy one the drag optimises: with the VAE alone it gives this step's image, so a
    // preview step's image can be decoded later (a fork) without the run's LoRA, prompt or UNet.
    const latent = ev.cleanLatent.slice();
    last = { latent, handles: ev.handles };
    lastStep = ev.step;
    post({
      step: ev.step, handles: ev.handles, distances: ev.distances, confidences: ev.confidences,
      diffusion: { stage: 'drag', stageStep: ev.step, stageSteps: s.maxSteps, decoded },
      image: frame, latent: latent.slice(), stored, elapsedMs: elapsed(),
    });
  }
  return { reason: 'error', steps: 0, error: { code: 'engine-failure', message: 'the diffusion drag ended without an end event' } };
}
