/**
 * A whole diffusion drag (DragDiffusion / StableDrag-Diff) as an async iterator of events:
 *   1. encode the image with the VAE and the prompt with CLIP;
 *   2. fine-tune LoRA on the image (stage events with the loss);
 *   3. DDIM-invert the latent to floor(ddimSteps * inversionStrength) (a stage event per DDIM step);
 *   4. optimise that latent (one step event per step: handles, distances, confidences, the latent, a cheap
 *      latent preview every step and a VAE decode of the predicted image every decodeEvery steps);
 *   5. denoise the original and edited latents together with mutual self-attention, decode the edited one
 *      (the end event carries the image).
 * The request is validated before the iterator is returned, so bad input throws at the call (a
 * DragInputError or DiffusionInputError naming the field). Stop (the signal) is honoured between any two
 * steps of any stage (a LoRA step, a DDIM step of the inversion or the denoising, a drag step); failures end the run with reason 'error'. Tensors and the LoRA are freed however it
 * ends, leaving the models as loaded.
 */
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';
import { validatePointsAndMask } from '../drag/options.js';
import type { PointPair, RGBAImage } from '../drag/types.js';
import { imageToRGBAAsync } from '../generator/rgba.js';
import { rgbaToTensor } from '../invert/loss.js';
import { DDIMScheduler, ddimInvertSteps, inversionTimesteps, type DDIMConfig, type DDIMStep } from './ddim.js';
import { DiffusionDragSession, type DiffusionStepState } from './drag-session.js';
import { DiffusionInputError } from './errors.js';
import { LoRATrainer, type UNetLoRA } from './lora.js';
import { denoiseMutualSteps, masaStartLayer } from './masactrl.js';
import { MAX_DIFFUSION_IMAGE_SIDE, resolveDiffusionDragOptions, type DiffusionDragOptions, type DiffusionDragOptionsInput } from './options.js';
import { latentPreview } from './preview.js';
import type { ClipTextEncoder } from './text-encoder.js';
import type { ClipTokenizer } from './tokenizer.js';
import type { UNet } from './unet.js';
import type { VAE } from './vae.js';

export { MAX_DIFFUSION_IMAGE_SIDE };

export interface DiffusionDragModels {
  unet: UNet;
  vae: VAE;
  textEncoder: ClipTextEncoder;
  tokenizer: ClipTokenizer;
  ddim: DDIMConfig;
}

export interface DiffusionDragRequest {
  image: RGBAImage;
  /** What the image shows (DragDiffusion's prompt); empty by default. */
  prompt?: string;
  /** Handles and targets in image pixels. */
  points: PointPair[];
  /**
   * height x width bytes, non-zero where the image may change. None: the mask term holds the whole latent
   * near its start (DragDiffusion's undrawn mask), and only motion supervision moves it.
   */
  mask?: Uint8Array;
  options?: DiffusionDragOptionsInput;
}

export interface DiffusionStageEvent {
  type: 'stage';
  stage: 'lora' | 'invert' | 'denoise';
  /** Steps of this stage done, of `steps`. */
  step: number;
  steps: number;
  /** LoRA's training loss at this step. */
  loss?: number;
}

export interface DiffusionDragStepEvent extends Omit<DiffusionStepState, 'done'> {
  type: 'step';
  /** The predicted clean image through the latent-to-RGB approximation, at latent resolution. */
  preview: RGBAImage;
  /** The predicted clean image through the VAE, every decodeEvery steps and on the first and last. */
  image?: RGBAImage;
  /**
   * The clean latent this step predicts (scaled, NHWC [h, w, c] row-major): decodeDiffusionLatent turns it into
   * exactly the image a decode of this step gives, with the VAE alone (no UNet, prompt or LoRA).
   */
  cleanLatent: Float32Array;
}

export interface DiffusionDragEndEvent {
  type: 'end';
  reason: 'reached' | 'max-steps' | 'cancelled' | 'error';
  /** Latent updates applied. */
  steps: number;
  /** The edited image after the final denoising (when the drag finished). */
  image?: RGBAImage;
  error?: { code: string; message: string };
}

export type DiffusionDragEvent = DiffusionStageEvent | DiffusionDragStepEvent | DiffusionDragEndEvent;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Checks the request against the models; returns the resolved options. */
export function validateDiffusionDragRequest(models: DiffusionDragModels, request: DiffusionDragRequest): DiffusionDragOptions {
  if (!request || typeof request !== 'object') throw new DiffusionInputError('a diffusion drag request must be an object');
  const img = request.image;
  if (!img || typeof img !== 'object' || !(img.data instanceof Uint8ClampedArray)) throw new DiffusionInputError('image must be RGBA bytes (width, height, data)');
  const { width, height } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_DIFFUSION_IMAGE_SIDE || height > MAX_DIFFUSION_IMAGE_SIDE) {
    throw new DiffusionInputError(`image sides must be integers in [1, ${MAX_DIFFUSION_IMAGE_SIDE}], got ${width}x${height}`);
  }
  if (img.data.length !== width * height * 4) throw new DiffusionInputError(`image data has ${img.data.length} bytes, expected ${width}x${height}x4`);
  const factor = models.vae.downFactor * 2 ** (models.unet.config.blockOutChannels.length - 1);
  if (width % factor !== 0 || height % factor !== 0) throw new DiffusionInputError(`image is ${width}x${height}; this model needs sides that are multiples of ${factor}`);
  if (models.vae.config.latentChannels !== models.unet.config.inChannels) {
    throw new DiffusionInputError(`the vae's ${models.vae.config.latentChannels} latent channels do not fit the unet's ${models.unet.config.inChannels} input channels`);
  }
  if (request.prompt !== undefined && typeof request.prompt !== 'string') throw new DiffusionInputError('prompt must be a string');
  validatePointsAndMask(request.points, request.mask, width, height);
  const options = resolveDiffusionDragOptions(request.options);
  // The scheduler checks the step count against the model's schedule here, before anything runs, not mid-run.
  new DDIMScheduler(options.ddimSteps, models.ddim).stepsFor(options.inversionStrength);
  return options;
}

export function diffusionDragRun(models: DiffusionDragModels, request: DiffusionDragRequest, signal?: AbortSignal): AsyncGenerator<DiffusionDragEvent, void, undefined> {
  const options = validateDiffusionDragRequest(models, request);
  // Tokenising checks the prompt (length) before the run starts too.
  const ids = models.tokenizer.encode(request.prompt ?? '');
  return run(models, request, options, ids, signal);
}

/**
 * The image of a clean latent (a step event's cleanLatent) through the VAE, at width x height; the latent must
 * have the VAE's latent channels at 1/downFactor of the image's sides.
 */
export async function decodeDiffusionLatent(vae: VAE, cleanLatent: Float32Array, width: number, height: number): Promise<RGBAImage> {
  const f = vae.downFactor;
  const c = vae.config.latentChannels;
  if (!Number.isInteger(width / f) || !Number.isInteger(height / f) || width < f || height < f || width > MAX_DIFFUSION_IMAGE_SIDE || height > MAX_DIFFUSION_IMAGE_SIDE) {
    throw new DiffusionInputError(`a ${width}x${height} image is not a multiple of this vae's ${f} px latent cell`);
  }
  if (!(cleanLatent instanceof Float32Array) || cleanLatent.length !== (width / f) * (height / f) * c) {
    throw new DiffusionInputError(`a latent of a ${width}x${height} image has ${(width / f) * (height / f) * c} values, got ${cleanLatent?.length}`);
  }
  const latent = tf.tensor4d(cleanLatent, [1, height / f, width / f, c]);
  try {
    return await decodeImage(vae, latent);
  } finally {
    latent.dispose();
  }
}

async function decodeImage(vae: VAE, scaled: tf.Tensor4D): Promise<RGBAImage> {
  const img = tf.tidy(() => vae.decode(tf.div(scaled, vae.config.scalingFactor)));
  try {
    return await imageToRGBAAsync(img);
  } finally {
    img.dispose();
  }
}

async function* run(models: DiffusionDragModels, request: DiffusionDragRequest, o: DiffusionDragOptions, ids: number[], signal?: AbortSignal): AsyncGenerator<DiffusionDragEvent, void, undefined> {
  const { unet, vae } = models;
  const { width, height } = request.image;
  const scheduler = new DDIMScheduler(o.ddimSteps, models.ddim);
  const owned: tf.Tensor[] = [];
  let lora: UNetLoRA | undefined;
  let session: DiffusionDragSession | undefined;
  const end = (reason: DiffusionDragEndEvent['reason'], extra: Partial<DiffusionDragEndEvent> = {}): DiffusionDragEndEvent => ({
    type: 'end',
    reason,
    steps: session?.updatesApplied ?? 0,
    ...extra,
  });
  try {
    let context: tf.Tensor3D;
    let latent: tf.Tensor4D;
    try {
      context = models.textEncoder.encode([ids]);
      owned.push(context);
      latent = tf.tidy(() => tf.mul(vae.encodeMean(rgbaToTensor(request.image)), vae.config.scalingFactor) as tf.Tensor4D);
      owned.push(latent);
    } catch (err) {
      yield failed(err, end);
      return;
    }

    if (o.lora.steps > 0) {
      const trainer = new LoRATrainer(unet, scheduler, latent, context, o.lora);
      lora = trainer.lora;
      try {
        for (let s = 1; s <= o.lora.steps; s++) {
          if (signal?.aborted) {
            yield end('cancelled');
            return;
          }
          const loss = await trainer.step();
          yield { type: 'stage', stage: 'lora', step: s, steps: o.lora.steps, loss };
          await yieldToEventLoop();
        }
      } catch (err) {
        yield failed(err, end);
        return;
      } finally {
        trainer.finish();
      }
    }

    if (signal?.aborted) {
      yield end('cancelled');
      return;
    }
    const inversionSteps = scheduler.stepsFor(o.inversionStrength);
    let inverted: { latent: tf.Tensor4D; t: number };
    try {
      const x = yield* stageLoop(ddimInvertSteps(unet, scheduler, latent, context, o.inversionStrength), 'invert', inversionSteps, signal);
      if (!x) {
        yield end('cancelled');
        return;
      }
      owned.push(x);
      inverted = { latent: x, t: inversionTimesteps(scheduler, o.inversionStrength).at(-1)! };
    } catch (err) {
      yield failed(err, end);
      return;
    }

    session = new DiffusionDragSession(unet, scheduler, context, inverted.latent, inverted.t, width, height, request.points, request.mask, o);
    let reason: 'reached' | 'max-steps' | undefined;
    for (let k = 0; !reason; k++) {
      if (signal?.aborted) {
        yield end('cancelled');
        return;
      }
      let event: DiffusionDragStepEvent;
      try {
        const { state, predicted, predictedValues } = await session.step(k);
        try {
          const { done, ...rest } = state;
          reason = done;
          const cleanLatent = predictedValues ?? ((await predicted.data()) as Float32Array);
          event = { type: 'step', ...rest, preview: latentPreview(cleanLatent, predicted.shape), cleanLatent };
          if (k % o.decodeEvery === 0 || done) event.image = await decodeImage(vae, predicted);
        } finally {
          predicted.dispose();
        }
      } catch (err) {
        yield failed(err, end);
        return;
      }
      yield event;
      await yieldToEventLoop();
    }

    if (signal?.aborted) {
      yield end('cancelled');
      return;
    }
    let image: RGBAImage;
    try {
      const denoiseSteps = inversionSteps;
      yield { type: 'stage', stage: 'denoise', step: 0, steps: denoiseSteps };
      const both = yield* stageLoop(denoiseMutualSteps(unet, scheduler, inverted.latent, session.code, context, o.inversionStrength, masaStartLayer(unet.transformers().length, o.masaLayer)), 'denoise', denoiseSteps, signal);
      if (!both) {
        yield end('cancelled');
        return;
      }
      const edited = tf.slice(both, [1, 0, 0, 0], [1, -1, -1, -1]);
      both.dispose();
      try {
        image = await decodeImage(vae, edited);
      } finally {
        edited.dispose();
      }
    } catch (err) {
      yield failed(err, end);
      return;
    }
    yield end(reason, { image });
  } finally {
    session?.dispose();
    lora?.dispose();
    tf.dispose(owned);
  }
}

/**
 * Drives a DDIM loop (the inversion or the final denoising, one UNet pass a step): a stage event after each step,
 * the event loop given a turn so Stop can arrive, and Stop honoured before each. Returns the loop's result, or
 * undefined when stopped (the loop has then freed its partial latent).
 */
async function* stageLoop(
  loop: Generator<DDIMStep, tf.Tensor4D, undefined>, stage: 'invert' | 'denoise', steps: number, signal?: AbortSignal,
): AsyncGenerator<DiffusionStageEvent, tf.Tensor4D | undefined, undefined> {
  try {
    for (let step = 1; ; step++) {
      if (signal?.aborted) return undefined;
      const r = loop.next();
      if (r.done) return r.value;
      yield { type: 'stage', stage, step, steps };
      await yieldToEventLoop();
    }
  } finally {
    loop.return(undefined as never);
  }
}

function failed(err: unknown, end: (reason: 'error', extra: Partial<DiffusionDragEndEvent>) => DiffusionDragEndEvent): DiffusionDragEndEvent {
  const e = err as Error;
  return end('error', { error: { code: err instanceof EngineError ? err.code : 'engine-failure', message: e?.message ?? String(err) } });
}
