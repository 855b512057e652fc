/**
 * One drag's optimisation state and its step: forward to the feature block, track the handles, then one
 * Adam step on the latent driven by motion supervision (plus the fixed-region term when a mask is given).
 * StableDrag differs from DragGAN only in how handles are tracked and in which reference supervision uses.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageGenerator, SynthesisState } from '../generator/types.js';
import { imageToRGBAAsync } from '../generator/rgba.js';
import { backendReadsSynchronously } from '../backends/webgpu.js';
import { absSignGrad } from '../ops/abs.js';
import { bilinearTaps, sampleRows } from '../ops/sample.js';
import { discOffsets, toFeatureCoord, type FeatureMap } from './features.js';
import { maskToFixedWeights } from './mask.js';
import { HandleTracking, enhancedHandles } from './handle-tracking.js';
import type { DragOptions, DragRequest, DragStepEvent, Point, RGBAImage } from './types.js';

let sessionCounter = 0;

export interface StepOutcome {
  event: DragStepEvent;
  /** Set when this step ends the run. */
  done?: 'reached' | 'max-steps' | 'stalled';
}

export class DragSession {
  private readonly latentVar: tf.Variable;
  private readonly initialWs: tf.Tensor2D;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly targets: Point[];
  private handles: Point[];
  private readonly offsets: Point[];
  /** Weights (1 - mask) at feature resolution, [1, h, w, 1]; only with a mask. */
  private fixedWeights?: tf.Tensor4D;
  private initialFeatures?: tf.Tensor4D;
  private tracking?: HandleTracking;
  private updates = 0;
  /** Smallest total handle-to-target distance so far (improved by at least stallDistance) and its step. */
  private bestRemaining = Infinity;
  private bestStep = 0;

  constructor(
    private readonly gen: ImageGenerator,
    private readonly request: DragRequest,
    private readonly options: DragOptions,
  ) {
    const { numWs, wDim } = gen;
    const L = options.optimizedLayers;
    this.initialWs = tf.tensor2d(request.latent, [numWs, wDim]);
    // 'w+' optimises each of the first L style vectors. 'w' ties them: one shared offset added to all of
    // them, starting at zero, so step 0 reproduces the given latent even when its vectors differ.
    const init = options.latentSpace === 'w' ? tf.zeros([1, wDim]) : tf.tensor2d(request.latent.slice(0, L * wDim), [L, wDim]);
    this.latentVar = tf.variable(init, true, `drag_latent_${sessionCounter++}`);
    init.dispose();
    this.optimizer = tf.train.adam(options.lr, 0.9, 0.999, 1e-8);
    this.handles = request.points.map((p) => [p.handle[0], p.handle[1]] as Point);
    this.targets = request.points.map((p) => [p.target[0], p.target[1]] as Point);
    this.offsets = discOffsets(options.r1);
  }

  /** The full style tensor [numWs, wDim] from the optimised part and the fixed rest. */
  private styles(): tf.Tensor2D {
    const L = this.options.optimizedLayers;
    const opt =
      this.options.latentSpace === 'w'
        ? tf.add(tf.slice(this.initialWs, [0, 0], [L, this.gen.wDim]), this.latentVar)
        : this.latentVar;
    // A copy, never the variable itself: the caller disposes what this returns.
    if (L === this.gen.numWs) return (opt === this.latentVar ? tf.clone(opt) : opt) as tf.Tensor2D;
    return tf.concat([opt as tf.Tensor2D, tf.slice(this.initialWs, [L, 0], [this.gen.numWs - L, this.gen.wDim])], 0);
  }

  private readMap(x: tf.Tensor4D, rows = x.dataSync() as Float32Array): FeatureMap {
    const [, h, w, c] = x.shape;
    return { rows, height: h, width: w, channels: c, imageWidth: this.gen.width, imageHeight: this.gen.height };
  }

  /**
   * The tapped features of the current latent, read with an awaited read: for backends that cannot read
   * synchronously (webgpu), where the gradient pass cannot stop to read them. Costs one more synthesis to
   * the tap; the values are the ones the gradient pass computes.
   */
  private async readMapAhead(): Promise<FeatureMap> {
    const layer = this.options.featureLayer;
    const fx = tf.tidy(() => {
      const tapped: { x?: tf.Tensor4D } = {};
      this.gen.synthesize(this.styles(), layer, undefined, (index, x) => {
        if (index === layer) tapped.x = x;
      });
      return tapped.x!;
    });
    try {
      return this.readMap(fx, (await fx.data()) as Float32Array);
    } finally {
      fx.dispose();
    }
  }

  private initialise(x: tf.Tensor4D, map: FeatureMap): void {
    this.tracking = new HandleTracking(
      map,
      this.handles.map((p) => [...p] as Point),
      { discriminative: this.options.discriminativeTracking, confidence: this.options.enhancement.enabled, tracker: this.options.tracker },
    );
    if (this.request.mask) {
      this.initialFeatures = tf.keep(tf.tensor4d(map.rows.slice(), x.shape));
      this.fixedWeights = tf.keep(maskToFixedWeights(this.request.mask, this.gen.width, this.gen.height, map.height, map.width));
    }
  }

  /** Motion supervision (+ fixed-region term) for the handles not yet at their targets. */
  private loss(x: tf.Tensor4D, map: FeatureMap, active: boolean[], enhanced: boolean[]): tf.Scalar {
    const { height: h, width: w, channels: C } = map;
    const { width: W, height: H } = this.gen;
    const xs: number[] = [];
    const ys: number[] = [];
    const refs: Float32Array[] = [];
    const rowWeights: number[] = [];
    this.handles.forEach((p, i) => {
      if (!active[i]) return;
      const t = this.targets[i];
      const len = Math.hypot(t[0] - p[0], t[1] - p[1]);
      const d: Point = [(t[0] - p[0]) / len, (t[1] - p[1]) / len];
      const qs = this.offsets.map((o) => [p[0] + o[0], p[1] + o[1]] as Point);
      for (const q of qs) {
        xs.push(toFeatureCoord(q[0] + d[0], W, w));
        ys.push(toFeatureCoord(q[1] + d[1], H, h));
        rowWeights.push(1 / (qs.length * C));
      }
      refs.push(this.tracking!.reference(map, i, p, this.offsets, enhanced[i]));
    });
    const rows = tf.reshape(x, [h * w, C]) as tf.Tensor2D;
    const moved = sampleRows(rows, bilinearTaps(xs, ys, h, w));
    const ref = new Float32Array(xs.length * C);
    let off = 0;
    for (const r of refs) {
      ref.set(r, off);
      off += r.length;
    }
    const weights = tf.tensor2d(rowWeights, [xs.length, 1]);
    let loss = tf.sum(tf.mul(absSignGrad(tf.sub(moved, tf.tensor2d(ref, [xs.length, C]))), weights)) as tf.Scalar;
    if (this.fixedWeights && this.initialFeatures && this.options.lambda > 0) {
      const fixed = tf.mean(tf.mul(absSignGrad(tf.sub(x, this.initialFeatures)), this.fixedWeights));
      loss = tf.add(loss, tf.mul(fixed, this.options.lambda));
    }
    return loss;
  }

  async step(k: number, wantImage: boolean): Promise<StepOutcome> {
    const o = this.options;
    const final = k >= o.maxSteps;
    const mapAhead = backendReadsSynchronously() ? undefined : await this.readMapAhead();
    let outcome: StepOutcome | undefined;
    let kept: { ws: tf.Tensor2D; state: SynthesisState } | undefined;
    let lossValue = NaN;

    const forward = (): tf.Scalar => {
      const ws = this.styles();
      // The tapped features (padded where the model is presented padded), not the state's own x.
      const tapped: { x?: tf.Tensor4D } = {};
      const s = this.gen.synthesize(ws, o.featureLayer, undefined, (index, x) => {
        if (index === o.featureLayer) tapped.x = x;
      });
      kept = { ws: tf.keep(ws), state: { x: tf.keep(s.x), img: s.img && tf.keep(s.img), layer: s.layer } };
      const fx = tapped.x!;
      const map = mapAhead ?? this.readMap(fx);
      let confidences: number[];
      if (k === 0) {
        this.initialise(fx, map);
        confidences = this.handles.map(() => 1);
      } else {
        confidences = this.tracking!.track(map, this.handles, o.r2);
      }
      const distances = this.handles.map((p, i) => Math.hypot(this.targets[i][0] - p[0], this.targets[i][1] - p[1]));
      const active = distances.map((d) => d >= o.stopDistance);
      const enhanced = enhancedHandles(confidences, active, o.enhancement);
      const reached = !active.some(Boolean);
      const remaining = distances.reduce((a, b) => a + b, 0);
      if (remaining <= this.bestRemaining - o.stallDistance) {
        this.bestRemaining = remaining;
        this.bestStep = k;
      }
      const stalled = o.stallSteps > 0 && k - this.bestStep >= o.stallSteps;
      outcome = {
        event: {
          type: 'step',
          step: k,
          handles: this.handles.map((p) => [...p] as Point),
          distances,
          confidences,
          enhanced,
          loss: NaN,
          latent: new Float32Array(0),
        },
        done: reached ? 'reached' : final ? 'max-steps' : stalled ? 'stalled' : undefined,
      };
      // A finished run still needs a scalar that depends on the latent; its gradient is simply not applied.
      return outcome.done ? (tf.mul(tf.sum(fx), 0) as tf.Scalar) : this.loss(fx, map, active, enhanced);
    };

    if (final) {
      tf.tidy(() => {
        forward();
      });
    } else {
      const { value, grads } = tf.variableGrads(forward, [this.latentVar]);
      lossValue = (await value.data())[0];
      if (!outcome!.done) {
        this.optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        this.updates++;
      }
      tf.dispose([value, ...Object.values(grads)]);
    }

    const { ws, state } = kept!;
    const ev = outcome!.event;
    ev.latent = ((await ws.data()) as Float32Array).slice();
    ev.loss = outcome!.done ? NaN : lossValue;
    if (wantImage || outcome!.done) ev.image = await this.renderFrom(ws, state);
    tf.dispose([ws, state.x, ...(state.img ? [state.img] : [])]);
    return outcome!;
  }

  get updatesApplied(): number {
    return this.updates;
  }

  private async renderFrom(ws: tf.Tensor2D, state: SynthesisState): Promise<RGBAImage> {
    const full = tf.tidy(() => this.gen.image(ws, state));
    try {
      return await imageToRGBAAsync(full);
    } finally {
      full.dispose();
    }
  }

  dispose(): void {
    tf.dispose([this.latentVar, this.initialWs]);
    this.optimizer.dispose();
    if (this.fixedWeights) tf.dispose([this.fixedWeights]);
    if (this.initialFeatures) tf.dispose([this.initialFeatures]);
  }
}
