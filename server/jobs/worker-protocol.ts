/**
 * Messages between the worker pool (main thread) and a drag worker. Plain structured-clone data only:
 * typed arrays travel as transferables, so frames and latents are moved, not copied.
 */
import type { DiffusionFrameStage, EncodedImage, Point, RunEndReason } from '../../contract/events.js';
import type { DiffusionSettings } from '../../contract/diffusion-settings.js';
import type { RunSettings } from '../../contract/run-settings.js';
import type { InvertSettings } from '../../contract/invert-settings.js';

export interface ModelMeta {
  /** The size of the images the generator renders (its presented size). */
  width: number;
  height: number;
  numWs: number;
  wDim: number;
  /** GPU memory the model's weights take on the worker's backend (webgpu, tensorflow); absent on wasm/cpu. */
  gpuBytes?: number;
}

export type FrameFormat = 'webp' | 'jpeg';

export interface RenderJob {
  modelPath: string;
  /** Render this seed's latent, or `latent` itself. */
  seed?: number;
  latent?: Float32Array;
  /** 'png' for the room's stored image (lossless), a frame format for previews. */
  format: 'png' | 'webp-lossless' | FrameFormat;
  /** The room's tuned weights (pivotal tuning: the engine's compact delta for this model); absent: the model's own. */
  weights?: Uint8Array;
  /**
   * A diffusion model: decode `latent` (a recorded drag step's clean latent) with its VAE to an image of this
   * size; `seed` and `weights` do not apply.
   */
  diffusion?: { width: number; height: number };
}

export interface RenderResult {
  latent: Float32Array;
  image: EncodedImage & { bytes: Uint8Array };
  meta: ModelMeta;
}

/** A drag: a GAN's (the default) or a diffusion model's (`kind: 'diffusion'`), on the same queue and workers. */
export type DragJobRequest = GanDragJobRequest | DiffusionDragJobRequest;

export interface GanDragJobRequest {
  kind?: 'gan';
  modelPath: string;
  latent: Float32Array;
  points: { handle: Point; target: Point }[];
  mask?: Uint8Array;
  /** As RenderJob: the room's tuned weights, which every step renders with. */
  weights?: Uint8Array;
  settings: RunSettings;
  /** End the run as 'stalled' after this many steps without progress (ServerLimits.stallSteps). */
  stallSteps: number;
  frameFormat: FrameFormat;
  frameQuality: number;
  /** Also send each step's latent (run history), and a lossless WebP of the frame of every step divisible by
   *  `storeFrameEvery` (1: every step; absent: every step). The others are re-rendered from their latents. */
  record?: boolean;
  storeFrameEvery?: number;
}

/**
 * A diffusion drag on a diffusion model's folder: LoRA on the image, DDIM inversion, the drag, the final denoising
 * (engine/src/diffusion/drag.ts). Stage progress arrives as step messages with `diffusion.stage` other than 'drag'
 * and no record; every drag step records its clean latent (what the VAE decodes into the step's image) and keeps a
 * lossless frame (a VAE decode every `settings.decodeEvery` steps, the latent preview scaled to the image's size
 * on the others: a render job with `diffusion` decodes those again from the latent).
 */
export interface DiffusionDragJobRequest {
  kind: 'diffusion';
  modelPath: string;
  /** The room's image (PNG or WebP) at the model's size: what the drag starts from. */
  image: Uint8Array;
  prompt: string;
  points: { handle: Point; target: Point }[];
  mask?: Uint8Array;
  settings: DiffusionSettings;
  frameFormat: FrameFormat;
  frameQuality: number;
}

export interface DragStepMessage {
  step: number;
  /** A diffusion drag's stage and progress (absent on a GAN's steps). */
  diffusion?: DiffusionFrameStage;
  handles: Point[];
  distances: number[];
  confidences: number[];
  /** Encoded frame; absent when the engine skipped the image for this step. */
  image?: EncodedImage & { bytes: Uint8Array };
  /** With `record`: the latent that produced this step, and (on the steps `storeFrameEvery` picks) its frame as lossless WebP. */
  latent?: Float32Array;
  stored?: EncodedImage & { bytes: Uint8Array };
  /** Milliseconds the worker spent on this step, encoding included. */
  elapsedMs: number;
}

export interface DragEndMessage {
  reason: RunEndReason;
  steps: number;
  error?: { code: string; message: string };
  /**
   * The last step's state: the room's new latent, image (PNG) and tracked handles. Absent if no step ran (and for
   * a diffusion drag that did not reach its final denoising: the room keeps its image).
   */
  final?: { latent: Float32Array; image: EncodedImage & { bytes: Uint8Array }; handles: Point[] };
}

/** An inversion: fit a latent of the model to `target` (a PNG of exactly the model's size). */
export interface InvertJobRequest {
  modelPath: string;
  /** Lossless PNG of the fitted target (what the room stores), so the job is plain bytes wherever it runs. */
  target: Uint8Array;
  settings: InvertSettings;
  frameFormat: FrameFormat;
  frameQuality: number;
  /** Send an encoded frame every this many steps (and on each stage's last step). */
  frameEvery: number;
  /** As DragJobRequest: a lossless WebP of every step divisible by this (frames the engine drew on those steps). */
  storeFrameEvery: number;
  /** LPIPS-VGG16's weights file, for settings.loss 'lpips' (the server's models/lpips/lpips-vgg.safetensors). */
  lpipsPath?: string;
}

export interface InvertStepMessage {
  step: number;
  /** 'pti': pivotal tuning (the weights move, the latent stays the pivot). */
  stage: 'w' | 'w+' | 'pti';
  /** The step's loss (the optimised objective, lower is closer). */
  loss: number;
  /** The latent after the step (numWs x wDim), always sent: the run's history keeps every step's latent. */
  latent: Float32Array;
  image?: EncodedImage & { bytes: Uint8Array };
  stored?: EncodedImage & { bytes: Uint8Array };
  elapsedMs: number;
}

/** Reasons as drag runs report them: 'max-steps' when every planned step ran. */
export interface InvertEndMessage {
  reason: RunEndReason;
  steps: number;
  error?: { code: string; message: string };
  /** The loss the run used, after 'auto' was resolved for the model. */
  loss?: string;
  /**
   * The last good state (also after Stop or a failure mid-run): the room's new latent and image (PNG), and,
   * when pivotal tuning ran (settings.ptiSteps > 0) and kept its result, the room's tuned weights (the engine's
   * compact delta), which the image was rendered with.
   */
  final?: { latent: Float32Array; image: EncodedImage & { bytes: Uint8Array }; weights?: Uint8Array };
}

/**
 * A suggested crop of a photo for a faces model (engine/src/landmarks/face-crop.ts): the photo as raw RGBA,
 * already shrunk (the search's cost depends on the window count, not on these pixels).
 */
export interface FaceCropJob {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export interface FaceCropResult {
  /** The best-framed square in the job's pixels (may reach past its edges). */
  window: { left: number; top: number; side: number };
  confidence: number;
  /** Detector passes it took. */
  windows: number;
  elapsedMs: number;
}

export type ToWorker =
  | { type: 'render'; jobId: number; job: RenderJob }
  | { type: 'face-crop'; jobId: number; job: FaceCropJob }
  | { type: 'drag'; jobId: number; job: DragJobRequest }
  | { type: 'invert'; jobId: number; job: InvertJobRequest }
  | { type: 'cancel'; jobId: number };

export type FromWorker =
  | { type: 'rendered'; jobId: number; result: RenderResult }
  | { type: 'face-cropped'; jobId: number; result: FaceCropResult }
  | { type: 'step'; jobId: number; step: DragStepMessage }
  | { type: 'invert-step'; jobId: number; step: InvertStepMessage }
  | { type: 'end'; jobId: number; end: DragEndMessage | InvertEndMessage }
  | { type: 'failed'; jobId: number; error: { code: string; message: string } };
