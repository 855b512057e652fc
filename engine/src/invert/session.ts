/**
 * One inversion's optimisation state and its step. Stage W optimises a single w shared by every layer,
 * starting at w_avg, with Adam under the projector's learning-rate ramps and a decaying noise on w that lets
 * it explore early. Stage W+ starts from W's result and gives each layer its own w, without noise.
 *
 * Stage PTI (when the request brings the base model) keeps that latent as the pivot and tunes the synthesis
 * weights instead (pti/tuner.ts); its result is the latent plus a compact weights delta.
 *
 * The engine's generators run with the checkpoint's fixed noise buffers (noise_mode 'const') and the
 * ImageGenerator interface does not expose them, so unlike the official projector no per-layer noise is
 * optimised and there is no noise regularisation term: all of the fit comes from the latent.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageGenerator } from '../generator/types.js';
import { imageToRGBA } from '../generator/rgba.js';
import { numpyRandn } from '../random.js';
import type { RGBAImage } from '../drag/types.js';
import type { LandmarkDetector } from '../landmarks/detector.js';
import { lossScales, pixelMultiscaleLoss, rgbaToTensor } from './loss.js';
import { DetectorFeatureLoss } from './perceptual.js';
import { DiscriminatorFeatureLoss } from './discriminator-loss.js';
import type { StyleGAN2Discriminator } from './discriminator.js';
import { LpipsLoss, type LpipsVgg } from './lpips.js';
import { psnr, ssim } from './metrics.js';
import { learningRate, noiseScale } from './schedule.js';
import type { InvertOptions, InvertStage, InvertStageEvent, InvertStageResult, InvertStepEvent } from './types.js';
import { estimateWStats, type WStats } from './w-stats.js';
import type { BaseModel } from './pti/base-model.js';
import { PtiTuner } from './pti/tuner.js';

let sessionCounter = 0;

interface StagePlan {
  stage: InvertStage;
  steps: number;
}

export interface InvertStepOutcome {
  event: InvertStepEvent;
  /** Set on a stage's last step. */
  stageEnd?: InvertStageEvent;
  /** Set when this step was the run's last. */
  done?: boolean;
}

export class InvertSession {
  private readonly target: tf.Tensor4D;
  private readonly scales: number[];
  readonly stats: WStats;
  private readonly plan: StagePlan[];
  private stageIndex = 0;
  private stageStep = 0;
  private globalStep = 0;
  private stageSeconds = 0;
  private variable?: tf.Variable;
  private optimizer?: tf.AdamOptimizer;
  private latent: Float32Array;
  private readonly perceptual?: DetectorFeatureLoss | DiscriminatorFeatureLoss | LpipsLoss;
  private tuner?: PtiTuner;
  /** The finished PTI stage's compact weights. */
  private ptiWeights?: Uint8Array;
  readonly results: InvertStageResult[] = [];

  constructor(
    private readonly gen: ImageGenerator,
    private readonly targetImage: RGBAImage,
    private readonly options: InvertOptions,
    detector?: LandmarkDetector,
    private readonly ptiBase?: BaseModel,
    discriminator?: StyleGAN2Discriminator,
    lpips?: LpipsVgg,
  ) {
    this.target = rgbaToTensor(targetImage);
    if (options.loss === 'pixel-multiscale+detector') this.perceptual = new DetectorFeatureLoss(detector!, this.target);
    if (options.loss === 'pixel-multiscale+discriminator') this.perceptual = new DiscriminatorFeatureLoss(discriminator!, this.target);
    if (options.loss === 'pixel-multiscale+lpips') this.perceptual = new LpipsLoss(lpips!, this.target);
    this.scales = lossScales(gen.width, gen.height);
    this.stats = estimateWStats(gen, options.wAvgSamples, options.seed);
    this.latent = gen.broadcast(this.stats.avg, 1);
    this.plan = [
      { stage: 'w' as const, steps: options.wSteps },
      { stage: 'w+' as const, steps: options.wPlusSteps },
      { stage: 'pti' as const, steps: ptiBase ? options.ptiSteps : 0 },
    ].filter((s) => s.steps > 0);
  }

  /** The last good latent (numWs x wDim): w_avg before any step. */
  get currentLatent(): Float32Array {
    return this.latent;
  }

  get stepsApplied(): number {
    return this.globalStep;
  }

  /**
   * The tuned weights that go with the current latent: the finished PTI stage's, or, while PTI is under
   * way (a Stop), the current weights compacted now. Undefined when PTI has applied no step.
   */
  tunedWeights(): Uint8Array | undefined {
    if (this.ptiWeights) return this.ptiWeights;
    if (this.tuner && this.tuner.steps > 0) return this.tuner.compact(this.options.ptiMinPsnr).bytes;
    return undefined;
  }

  /** The weights of a finished PTI stage only (what a failed run may keep). */
  get finishedTunedWeights(): Uint8Array | undefined {
    return this.ptiWeights;
  }

  private lossOf(image: tf.Tensor4D): tf.Scalar {
    const pixel = pixelMultiscaleLoss(image, this.target, this.scales);
    return this.perceptual ? (tf.add(pixel, tf.mul(this.perceptual.loss(image), this.options.perceptualWeight)) as tf.Scalar) : pixel;
  }

  private startStage(): void {
    const { numWs, wDim } = this.gen;
    const stage = this.plan[this.stageIndex].stage;
    const init = stage === 'w' ? tf.tensor2d(this.latent.slice(0, wDim), [1, wDim]) : tf.tensor2d(this.latent, [numWs, wDim]);
    this.variable = tf.variable(init, true, `invert_${stage}_${sessionCounter++}`);
    init.dispose();
    this.optimizer = tf.train.adam(stage === 'w' ? this.options.lr : this.options.wPlusLr, 0.9, 0.999, 1e-8);
    this.stageSeconds = 0;
  }

  private endStage(): void {
    this.variable?.dispose();
    this.optimizer?.dispose();
    this.variable = undefined;
    this.optimizer = undefined;
  }

  /** [numWs, wDim] styles from the stage's variable, plus optional noise on w. */
  private styles(noise?: tf.Tensor2D): tf.Tensor2D {
    const v = this.variable as tf.Variable<tf.Rank.R2>;
    const w = (noise ? tf.add(v, noise) : v) as tf.Tensor2D;
    return v.shape[0] === 1 ? tf.tile(w, [this.gen.numWs, 1]) : (tf.clone(w) as tf.Tensor2D);
  }

  step(wantImage: boolean): InvertStepOutcome {
    if (this.plan[this.stageIndex].stage === 'pti') return this.ptiStep(wantImage);
    if (!this.variable) this.startStage();
    const started = performance.now();
    const o = this.options;
    const { stage, steps } = this.plan[this.stageIndex];
    const t = this.stageStep / steps;
    const lr = learningRate(t, stage === 'w' ? o.lr : o.wPlusLr, o.lrRampUp, o.lrRampDown);
    (this.optimizer as unknown as { learningRate: number }).learningRate = lr;
    const sigma = stage === 'w' ? this.stats.std * noiseScale(t, o.initialNoiseFactor, o.noiseRampLength) : 0;
    const { value, grads } = tf.variableGrads(() => {
      const noise = sigma > 0 ? tf.mul(tf.tensor2d(Float32Array.from(numpyRandn(o.seed + 1 + this.globalStep, this.gen.wDim)), [1, this.gen.wDim]), sigma) : undefined;
      return this.lossOf(this.gen.image(this.styles(noise as tf.Tensor2D | undefined)));
    }, [this.variable!]);
    const loss = value.dataSync()[0];
    this.optimizer!.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    tf.dispose([value, ...Object.values(grads)]);
    const ws = tf.tidy(() => this.styles());
    this.latent = ws.dataSync().slice() as Float32Array;
    const last = this.stageStep === steps - 1;
    const event: InvertStepEvent = {
      type: 'step',
      stage,
      step: this.globalStep,
      stageStep: this.stageStep,
      stageSteps: steps,
      loss,
      lr,
      latent: this.latent,
    };
    if (wantImage || last) event.image = this.render(ws);
    ws.dispose();
    this.stageSeconds += (performance.now() - started) / 1000;
    this.globalStep++;
    this.stageStep++;
    if (!last) return { event };
    const image = event.image!;
    const result: InvertStageResult = {
      stage,
      steps,
      seconds: this.stageSeconds,
      psnr: psnr(image, this.targetImage),
      ssim: ssim(image, this.targetImage),
      loss: o.loss,
    };
    this.results.push(result);
    this.endStage();
    this.stageIndex++;
    this.stageStep = 0;
    return { event, stageEnd: { type: 'stage', ...result, latent: this.latent, image }, done: this.stageIndex >= this.plan.length };
  }

  private ptiStep(wantImage: boolean): InvertStepOutcome {
    const started = performance.now();
    const o = this.options;
    const steps = this.plan[this.stageIndex].steps;
    if (!this.tuner) {
      this.tuner = new PtiTuner(this.ptiBase!, this.latent, o.ptiLr, (image) => this.lossOf(image));
      this.stageSeconds = 0;
    }
    const loss = this.tuner.step();
    const last = this.stageStep === steps - 1;
    const event: InvertStepEvent = { type: 'step', stage: 'pti', step: this.globalStep, stageStep: this.stageStep, stageSteps: steps, loss, lr: o.ptiLr, latent: this.latent };
    if (wantImage || last) event.image = this.tuner.render();
    this.globalStep++;
    this.stageStep++;
    if (!last) {
      this.stageSeconds += (performance.now() - started) / 1000;
      return { event };
    }
    const compactStarted = performance.now();
    const compact = this.tuner.compact(o.ptiMinPsnr);
    const weightsSeconds = (performance.now() - compactStarted) / 1000;
    this.ptiWeights = compact.bytes;
    this.tuner.dispose();
    this.tuner = undefined;
    this.stageSeconds += (performance.now() - started) / 1000;
    const image = event.image!;
    const result: InvertStageResult = {
      stage: 'pti',
      steps,
      seconds: this.stageSeconds,
      psnr: psnr(image, this.targetImage),
      ssim: ssim(image, this.targetImage),
      loss: o.loss,
      weightsBytes: compact.bytes.length,
      weightsPsnrVsFull: compact.metadata.psnrVsFull,
      weightsSeconds,
    };
    this.results.push(result);
    this.stageIndex++;
    this.stageStep = 0;
    return { event, stageEnd: { type: 'stage', ...result, latent: this.latent, image, ptiWeights: compact.bytes }, done: this.stageIndex >= this.plan.length };
  }

  private render(ws: tf.Tensor2D): RGBAImage {
    const img = tf.tidy(() => this.gen.image(ws));
    const out = imageToRGBA(img);
    img.dispose();
    return out;
  }

  dispose(): void {
    this.endStage();
    this.tuner?.dispose();
    this.tuner = undefined;
    this.target.dispose();
    this.perceptual?.dispose();
  }
}
