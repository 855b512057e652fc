/**
 * One diffusion drag's latent optimisation (DragDiffusion's drag_diffusion_update): the DDIM-inverted latent
 * at step t is a variable; each step runs the UNet once, reads the chosen up block's output resized to half
 * the image, tracks the handles on it, and takes one Adam step on motion supervision plus the term keeping
 * the next DDIM step's latent unchanged outside the mask. Points live in feature pixels here (DragDiffusion's
 * convention); events report them in image pixels.
 *
 * Tracking, confidence and the enhancement rule are the GAN drag's (drag/handle-tracking.ts):
 * 'dragdiffusion' tracks by L1 nearest neighbour, 'stabledrag-diff' by the discriminative tracker with
 * confidence-based enhancement.
 */
import * as tf from '@tensorflow/tfjs';
import { absSignGrad } from '../ops/abs.js';
import { bilinearTaps, sampleRows } from '../ops/sample.js';
import type { FeatureMap } from '../drag/features.js';
import { HandleTracking, enhancedHandles } from '../drag/handle-tracking.js';
import type { Point, PointPair } from '../drag/types.js';
import { backendReadsSynchronously } from '../backends/webgpu.js';
import type { DDIMScheduler } from './ddim.js';
import type { DiffusionDragOptions } from './options.js';
import type { UNet } from './unet.js';

let sessionCounter = 0;

/** What a step reads before its gradient pass where the backend cannot read synchronously (webgpu). */
interface ReadAhead {
  map: FeatureMap;
  /** The latent the step evaluates (the variable before this step's update). */
  latent: Float32Array;
  /** The clean latent this latent's noise predicts (the step's `predicted`), for the previews. */
  clean: Float32Array;
  /** Step 0 only: the next DDIM step's latent from the starting latent, the fixed-region term's reference. */
  prevLatent0?: Float32Array;
}

export interface DiffusionStepState {
  step: number;
  /** Handles in image pixels, where tracking found them on this step's latent. */
  handles: Point[];
  /** Distance of each handle to its target, in image pixels. */
  distances: number[];
  confidences: number[];
  enhanced: boolean[];
  /** Loss of the update taken from this step's latent (NaN when none was taken). */
  loss: number;
  /** The latent this step evaluated, NHWC [h, w, c] row-major (scaled, as the UNet sees it). */
  latent: Float32Array;
  done?: 'reached' | 'max-steps';
}

/** Features [1, h, w, c] as the tracker reads them, in feature pixels (points live there). */
function featureMap([, h, w, c]: [number, number, number, number], rows: Float32Array): FeatureMap {
  return { rows, height: h, width: w, channels: c, imageWidth: w, imageHeight: h };
}

/** Square patch offsets of radius r (DragDiffusion's (2 r_m + 1)^2 patch). */
function squareOffsets(r: number): Point[] {
  const out: Point[] = [];
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) out.push([dx, dy]);
  return out;
}

/** The mask (non-zero = may change) at latent size by nearest sampling (torch's 'nearest'), as 1 - mask, [1, h, w, 1]. */
function fixedWeightsNearest(mask: Uint8Array, width: number, height: number, h: number, w: number): tf.Tensor4D {
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(Math.floor((y * height) / h), height - 1);
    for (let x = 0; x < w; x++) out[y * w + x] = mask[sy * width + Math.min(Math.floor((x * width) / w), width - 1)] ? 0 : 1;
  }
  return tf.tensor4d(out, [1, h, w, 1]);
}

/**
 * The up block whose output the drag supervises and tracks: `featureBlock` where given (at most the last), else
 * the one before the last. That is DragDiffusion's choice on SD 1.5 (the third of four, index 2), the last block
 * that upsamples, whose output is the first at the latent's resolution. On a UNet with three up blocks it is the
 * second: the last block sits next to the noise prediction, and its features move without the content
 * (docs/diffusion.md, "The feature block").
 */
export function supervisedUpBlock(upBlockCount: number, featureBlock?: number): number {
  return Math.max(0, Math.min(featureBlock ?? upBlockCount - 2, upBlockCount - 1));
}

export class DiffusionDragSession {
  readonly code: tf.Variable<tf.Rank.R4>;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly handles: Point[];
  private readonly targets: Point[];
  private readonly offsets: Point[];
  /** Feature map size: half the image, as DragDiffusion's sup_res. */
  readonly featureWidth: number;
  readonly featureHeight: number;
  private readonly block: number;
  private readonly fixedWeights: tf.Tensor4D;
  private prevLatent0?: tf.Tensor4D;
  private tracking?: HandleTracking;
  private updates = 0;
  private scratch: tf.Tensor[] = [];

  constructor(
    private readonly unet: UNet,
    private readonly scheduler: DDIMScheduler,
    private readonly context: tf.Tensor3D,
    code0: tf.Tensor4D,
    readonly t: number,
    readonly imageWidth: number,
    readonly imageHeight: number,
    points: PointPair[],
    mask: Uint8Array | undefined,
    private readonly options: DiffusionDragOptions,
  ) {
    this.featureWidth = Math.max(1, Math.round(imageWidth / 2));
    this.featureHeight = Math.max(1, Math.round(imageHeight / 2));
    this.block = supervisedUpBlock(unet.config.upBlockTypes.length, options.featureBlock);
    const toFeature = (p: Point): Point => [Math.round((p[0] * this.featureWidth) / imageWidth), Math.round((p[1] * this.featureHeight) / imageHeight)];
    this.handles = points.map((p) => toFeature(p.handle));
    this.targets = points.map((p) => toFeature(p.target));
    this.offsets = squareOffsets(options.rM);
    this.code = tf.variable(code0, true, `diffusion_drag_code_${sessionCounter++}`) as tf.Variable<tf.Rank.R4>;
    this.optimizer = tf.train.adam(options.lr, 0.9, 0.999, 1e-8);
    // No mask (or an empty one) keeps the whole latent near its start: DragDiffusion's code takes an undrawn
    // mask as all zeros, so its term then covers every latent pixel, and motion supervision works against it.
    // Without the term, Adam's normalised steps move every latent value by about lr per step (the far ones
    // get small gradients of a steady sign through the norms and attention), and the colours drift.
    this.fixedWeights = mask && mask.some((v) => v !== 0)
      ? fixedWeightsNearest(mask, imageWidth, imageHeight, code0.shape[1], code0.shape[2])
      : tf.ones([1, code0.shape[1], code0.shape[2], 1]);
  }

  /** The UNet's noise and the chosen up block's features at half the image size. */
  private forward(code: tf.Tensor4D): { noise: tf.Tensor4D; features: tf.Tensor4D } {
    const { noise, upFeatures } = this.unet.apply(code, tf.fill([1], this.t) as tf.Tensor1D, this.context, true);
    // The up blocks' outputs outlive any tidy (the UNet keeps them) and a gradient pass may still read them:
    // freed once the step's gradient is taken.
    this.scratch.push(...upFeatures!);
    const raw = upFeatures![this.block];
    const features = tf.image.resizeBilinear(raw, [this.featureHeight, this.featureWidth], false, true);
    return { noise, features };
  }

  private readMap(features: tf.Tensor4D): FeatureMap {
    return featureMap(features.shape, features.dataSync() as Float32Array);
  }

  /**
   * The features, the latent, its predicted clean latent and (step 0) the reference next latent, read with one
   * awaited read: for backends
   * that cannot read synchronously (webgpu), where the gradient pass cannot stop to read them. Costs one more
   * UNet forward pass; the values are the ones the gradient pass computes.
   */
  private async readAhead(first: boolean): Promise<ReadAhead> {
    const [, h, w, c] = this.code.shape;
    const latentSize = h * w * c;
    let featureShape: [number, number, number, number] = [1, 0, 0, 0];
    const packed = tf.tidy(() => {
      const { noise, features } = this.forward(this.code);
      featureShape = features.shape;
      const parts: tf.Tensor[] = [tf.reshape(features, [-1]), tf.reshape(this.code, [-1]), tf.reshape(this.predictClean(this.code, noise), [-1])];
      if (first) parts.push(tf.reshape(this.scheduler.step(noise, this.t, this.code), [-1]));
      return tf.concat(parts);
    });
    try {
      const values = (await packed.data()) as Float32Array;
      const featureSize = values.length - latentSize * (first ? 3 : 2);
      const latentAt = (i: number) => values.slice(featureSize + i * latentSize, featureSize + (i + 1) * latentSize);
      return {
        map: featureMap(featureShape, values.subarray(0, featureSize)),
        latent: latentAt(0),
        clean: latentAt(1),
        prevLatent0: first ? latentAt(2) : undefined,
      };
    } finally {
      packed.dispose();
      this.releaseScratch();
    }
  }

  /**
   * Motion supervision on the handles still moving, plus lambda * sum |x_{t-1} - x0_{t-1}| (1 - mask):
   * the next DDIM step's latent against the one the starting latent gives.
   */
  private buildLoss(code: tf.Tensor4D, noise: tf.Tensor4D, features: tf.Tensor4D, map: FeatureMap, active: boolean[], enhanced: boolean[]): tf.Scalar {
    const { height: h, width: w, channels: C } = map;
    const xs: number[] = [];
    const ys: number[] = [];
    const refs: Float32Array[] = [];
    this.handles.forEach((p, i) => {
      if (!active[i]) return;
      const t = this.targets[i];
      const len = Math.hypot(t[0] - p[0], t[1] - p[1]);
      const d: Point = [(t[0] - p[0]) / len, (t[1] - p[1]) / len];
      for (const o of this.offsets) {
        xs.push(p[0] + o[0] + d[0]);
        ys.push(p[1] + o[1] + d[1]);
      }
      refs.push(this.tracking!.reference(map, i, p, this.offsets, enhanced[i]));
    });
    let loss: tf.Scalar = tf.scalar(0);
    if (xs.length) {
      const moved = sampleRows(tf.reshape(features, [h * w, C]) as tf.Tensor2D, bilinearTaps(xs, ys, h, w));
      const ref = new Float32Array(xs.length * C);
      refs.forEach((r, i) => ref.set(r, i * this.offsets.length * C));
      // (2 r_m + 1)^2 * mean over the patch = sum / C, per handle, as DragDiffusion weighs it.
      loss = tf.div(tf.sum(absSignGrad(tf.sub(moved, tf.tensor2d(ref, [xs.length, C])))), C) as tf.Scalar;
    }
    if (this.prevLatent0 && this.options.lambda > 0) {
      const prev = this.scheduler.step(noise, this.t, code);
      const fixed = tf.sum(tf.mul(absSignGrad(tf.sub(prev, this.prevLatent0)), this.fixedWeights));
      loss = tf.add(loss, tf.mul(fixed, this.options.lambda));
    }
    return loss;
  }

  private distances(): number[] {
    const sx = this.imageWidth / this.featureWidth;
    const sy = this.imageHeight / this.featureHeight;
    return this.handles.map((p, i) => Math.hypot((this.targets[i][0] - p[0]) * sx, (this.targets[i][1] - p[1]) * sy));
  }

  private featureDistances(): number[] {
    return this.handles.map((p, i) => Math.hypot(this.targets[i][0] - p[0], this.targets[i][1] - p[1]));
  }

  private initialise(noise: tf.Tensor4D, map: FeatureMap, code: tf.Tensor4D, prevRead?: Float32Array): void {
    const stable = this.options.method === 'stabledrag-diff';
    this.tracking = new HandleTracking(map, this.handles.map((p) => [...p] as Point), {
      discriminative: stable,
      confidence: stable,
      tracker: this.options.tracker,
      nearestMetric: 'l1',
    });
    // A constant copy: the value at the starting latent, outside any gradient tape.
    if (prevRead) {
      this.prevLatent0 = tf.keep(tf.tensor4d(prevRead, code.shape));
      return;
    }
    const prev = this.scheduler.step(noise, this.t, code);
    this.prevLatent0 = tf.keep(tf.tensor4d(prev.dataSync() as Float32Array, prev.shape));
  }

  /**
   * The loss at `code` with the handles where they are now, tracking already initialised (step 0 has run):
   * what one step differentiates, exposed for the gradient parity test.
   */
  lossAt(code: tf.Tensor4D): tf.Scalar {
    return tf.tidy(() => {
      const { noise, features } = this.forward(code);
      const map = this.readMap(features);
      const active = this.featureDistances().map((d) => d >= this.options.stopDistance);
      return this.buildLoss(code, noise, features, map, active, active.map(() => false));
    });
  }

  /**
   * Step k: track (after step 0), check the stop rule, and take one Adam step unless done. Also returns the
   * clean latent this step's noise predicts (scaled, [1, h, w, c]; the caller disposes it), for previews, and
   * its values where the step has already read them (webgpu's read-ahead), sparing the caller a read.
   */
  async step(k: number): Promise<{ state: DiffusionStepState; predicted: tf.Tensor4D; predictedValues?: Float32Array }> {
    const o = this.options;
    let state: DiffusionStepState | undefined;
    let predicted: tf.Tensor4D | undefined;
    const ahead = backendReadsSynchronously() ? undefined : await this.readAhead(k === 0);
    const objective = (): tf.Scalar => {
      const { noise, features } = this.forward(this.code);
      predicted = tf.keep(this.predictClean(this.code, noise));
      const map = ahead?.map ?? this.readMap(features);
      let confidences: number[];
      if (k === 0) {
        this.initialise(noise, map, this.code, ahead?.prevLatent0);
        confidences = this.handles.map(() => 1);
      } else {
        confidences = this.tracking!.track(map, this.handles, o.rP);
      }
      const active = this.featureDistances().map((d) => d >= o.stopDistance);
      const enhanced = o.method === 'stabledrag-diff' ? enhancedHandles(confidences, active, { enabled: true, threshold: o.enhancementThreshold }) : active.map(() => false);
      const reached = !active.some(Boolean);
      state = {
        step: k,
        handles: this.handles.map((p) => [(p[0] * this.imageWidth) / this.featureWidth, (p[1] * this.imageHeight) / this.featureHeight] as Point),
        distances: this.distances(),
        confidences,
        enhanced,
        loss: NaN,
        latent: new Float32Array(0),
        done: reached ? 'reached' : k >= o.maxSteps ? 'max-steps' : undefined,
      };
      state.latent = ahead?.latent ?? (this.code.dataSync() as Float32Array).slice();
      return state.done ? (tf.mul(tf.sum(features), 0) as tf.Scalar) : this.buildLoss(this.code, noise, features, map, active, enhanced);
    };
    const { value, grads } = tf.variableGrads(objective, [this.code]);
    if (!state!.done) {
      state!.loss = (await value.data())[0];
      this.optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      this.updates++;
    }
    tf.dispose([value, ...Object.values(grads)]);
    this.releaseScratch();
    return { state: state!, predicted: predicted!, predictedValues: ahead?.clean };
  }

  /** x0 = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t), as a DDIM step predicts it. */
  private predictClean(code: tf.Tensor4D, noise: tf.Tensor4D): tf.Tensor4D {
    const a = this.scheduler.alphaAt(this.t);
    return tf.tidy(() => tf.div(tf.sub(code, tf.mul(noise, Math.sqrt(1 - a))), Math.sqrt(a)));
  }

  /** Frees the feature maps of passes whose gradient has been taken (lossAt's caller calls this after its gradient). */
  releaseScratch(): void {
    tf.dispose(this.scratch);
    this.scratch = [];
  }

  get updatesApplied(): number {
    return this.updates;
  }

  dispose(): void {
    this.releaseScratch();
    tf.dispose([this.code, this.fixedWeights, ...(this.prevLatent0 ? [this.prevLatent0] : [])]);
    this.optimizer.dispose();
  }
}
