/** Public types of an inversion run (projecting an image into a generator's latent space). */
import type { RGBAImage } from '../drag/types.js';
import type { LandmarkDetector } from '../landmarks/detector.js';
import type { BaseModel } from './pti/base-model.js';
import type { StyleGAN2Discriminator } from './discriminator.js';
import type { LpipsVgg } from './lpips.js';

/** W projection, W+ refinement, then (when the request brings the base model) pivotal tuning of the weights. */
export type InvertStage = 'w' | 'w+' | 'pti';

/**
 * What the optimiser compares. 'pixel-multiscale': mean squared error of the image and of its 2x, 4x, 8x
 * box-downsampled versions (the coarse terms pull colour and layout before detail). '+detector' adds
 * perceptualWeight x the landmark detector's feature distance (perceptual.ts), for face models.
 * '+discriminator' adds the same construction on the model's own discriminator's block outputs
 * (discriminator-loss.ts), for imported checkpoints that kept their D. '+lpips' adds perceptualWeight x
 * LPIPS-VGG16 (lpips.ts), from the weights the user imported (`stabledrag import-lpips`). Every
 * run reports the loss it used.
 */
export type InvertLoss = 'pixel-multiscale' | 'pixel-multiscale+detector' | 'pixel-multiscale+discriminator' | 'pixel-multiscale+lpips';

export interface InvertOptions {
  /** Steps of W projection (one w shared by all layers). Default 1000, as the official projector. */
  wSteps: number;
  /** Steps of W+ refinement from the W result (each layer its own w). 0 skips the stage. Default 300. */
  wPlusSteps: number;
  /** Peak learning rate of the W stage (Adam, betas 0.9/0.999). Default 0.1. */
  lr: number;
  /** Peak learning rate of the W+ stage. Default 0.01: W+ can leave the generator's manifold quickly. */
  wPlusLr: number;
  /** w noise at step 0, as a fraction of the mapped w's spread; ramps to 0 over noiseRampLength. Default 0.05. */
  initialNoiseFactor: number;
  /** Fraction of the W stage over which the w noise ramps down (quadratically). Default 0.75. */
  noiseRampLength: number;
  /** Fractions of each stage for the learning-rate cosine ramp-down and linear ramp-up. Defaults 0.25, 0.05. */
  lrRampDown: number;
  lrRampUp: number;
  /** z samples used to estimate w_avg and the spread of w. Default 10000. */
  wAvgSamples: number;
  /** Seed of the z samples and of the w noise. Default 123. */
  seed: number;
  /** Send a frame every N steps (and always on a stage's last step). Default 10. */
  imageEvery: number;
  /**
   * Default: '+lpips' when the request brings LPIPS, else '+discriminator' when it brings a discriminator,
   * else '+detector' when it brings a detector, else 'pixel-multiscale'.
   */
  loss: InvertLoss;
  /** Weight of the detector, discriminator or LPIPS term. Default 1. */
  perceptualWeight: number;
  /**
   * Steps of pivotal tuning after W/W+ (runs only when the request brings `ptiBase`; 0 skips it). Default
   * 350, the PTI paper's recipe.
   */
  ptiSteps: number;
  /** Adam learning rate of pivotal tuning, constant. Default 3e-4 (the paper's). */
  ptiLr: number;
  /**
   * How close (dB PSNR of the pivot's render) the stored low-rank delta must stay to the full tuned weights;
   * a higher value keeps more rank and bytes. Default 40.
   */
  ptiMinPsnr: number;
}

export interface InvertRequest {
  /** The target, exactly the generator's width x height (see io/image-input.ts fitImage). */
  target: RGBAImage;
  options?: Partial<InvertOptions>;
  /** The landmark detector, for the 'pixel-multiscale+detector' loss (the caller loads and owns it). */
  detector?: LandmarkDetector;
  /** The model's own discriminator, for the 'pixel-multiscale+discriminator' loss (the caller loads and owns it). */
  discriminator?: StyleGAN2Discriminator;
  /** LPIPS-VGG16, for the 'pixel-multiscale+lpips' loss (the caller loads and owns it). */
  lpips?: LpipsVgg;
  /**
   * The model's own tensors and identity (pti/base-model.ts), the same model the generator was built from:
   * with it, the PTI stage tunes the synthesis weights around the W/W+ result and the run returns the
   * room's compact weights delta.
   */
  ptiBase?: BaseModel;
}

export interface InvertStepEvent {
  type: 'step';
  stage: InvertStage;
  /** Step over the whole run (W, W+, then PTI), from 0. */
  step: number;
  /** Step within the stage, from 0, and the stage's step count. */
  stageStep: number;
  stageSteps: number;
  loss: number;
  lr: number;
  /** The current latent, numWs x wDim (without the W stage's exploration noise; the pivot during PTI). */
  latent: Float32Array;
  image?: RGBAImage;
}

/** Quality of a stage's final latent, rendered without noise and compared with the target. */
export interface InvertStageResult {
  stage: InvertStage;
  steps: number;
  seconds: number;
  psnr: number;
  ssim: number;
  loss: InvertLoss;
  /** PTI only: the size of the stored weights delta and its render's PSNR against the full tuned weights (null: identical). */
  weightsBytes?: number;
  weightsPsnrVsFull?: number | null;
  /** PTI only: seconds of `seconds` spent compacting the weights (SVD and the rank search's renders). */
  weightsSeconds?: number;
}

export interface InvertStageEvent extends InvertStageResult {
  type: 'stage';
  latent: Float32Array;
  image: RGBAImage;
  /** PTI only: the room's tuned weights as a compact delta (pti/delta.ts; applyPtiWeights renders with them). */
  ptiWeights?: Uint8Array;
}

export type InvertEndReason = 'done' | 'cancelled' | 'error';

export interface InvertEndEvent {
  type: 'end';
  reason: InvertEndReason;
  /** Optimiser steps applied over all stages. */
  steps: number;
  stages: InvertStageResult[];
  /** The last good latent (the W start, w_avg, when nothing ran). */
  latent: Float32Array;
  /**
   * The tuned weights delta that goes with `latent`: after a finished PTI stage, or the weights at Stop
   * when the run was cancelled during it. Absent when PTI did not run or failed (the latent alone is then
   * the last good state).
   */
  ptiWeights?: Uint8Array;
  error?: { code: string; message: string };
}

export type InvertEvent = InvertStepEvent | InvertStageEvent | InvertEndEvent;
