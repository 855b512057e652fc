/** Public types of a drag run. The engine's API surface for the server's worker lives here and in ../index.ts. */
import type { DragMethodName, LatentSpaceName } from '../../../contract/run-settings.js';

/** A point in image pixels, x to the right and y down, (0,0) the centre of the top-left pixel. */
export type Point = [x: number, y: number];

export interface PointPair {
  handle: Point;
  target: Point;
}

/** The room's method and latent-space choices are the engine's. */
export type DragMethod = DragMethodName;
export type LatentSpace = LatentSpaceName;

export interface TrackerOptions {
  /** Weight of the feature-difference score relative to the learned filter's response. */
  alpha: number;
  /** Ridge regularisation pulling each filter towards the handle's template feature. */
  ridge: number;
  /** Std-dev of the Gaussian label the filter is fitted to, in image pixels. */
  labelSigma: number;
  /** Radius of the window the filter is fitted on at step 0, in image pixels. */
  fitRadius: number;
}

export interface EnhancementOptions {
  /** Whether confidence-based latent enhancement is on (StableDrag); off gives the tracker-only ablation. */
  enabled: boolean;
  /** Confidence threshold tau below which motion supervision uses the handle's original template. */
  threshold: number;
}

export interface DragOptions {
  method: DragMethod;
  /** Adam learning rate on the latent. */
  lr: number;
  /** Motion-supervision disc radius, image pixels. */
  r1: number;
  /** Tracking window radius, image pixels. */
  r2: number;
  /** Weight of the fixed-region term (only used with a mask). */
  lambda: number;
  latentSpace: LatentSpace;
  /** How many leading style vectors are optimised (DragGAN: 6); the rest stay at their initial values. */
  optimizedLayers: number;
  maxSteps: number;
  /** A handle within this many pixels of its target is done. */
  stopDistance: number;
  /**
   * End the run as 'stalled' when the handles' total distance to their targets has not shrunk by
   * stallDistance pixels in this many steps (0: never). A drag the generator cannot follow (a small flexible
   * region on a model without local control, say) would otherwise hold a shared worker until maxSteps.
   */
  stallSteps: number;
  stallDistance: number;
  /** Emit the image every N steps (the first and the last step always carry one). */
  imageEvery: number;
  /** Feature layer (a tap index of the generator) whose features drive supervision and tracking; default from the model. */
  featureLayer: number;
  /** StableDrag's discriminative tracker; 'draggan' uses nearest neighbour unless this forces it on. */
  discriminativeTracking: boolean;
  tracker: TrackerOptions;
  enhancement: EnhancementOptions;
}

/** Options as a caller gives them: any subset, nested groups partial too. */
export type DragOptionsInput = Partial<Omit<DragOptions, 'tracker' | 'enhancement'>> & {
  tracker?: Partial<TrackerOptions>;
  enhancement?: Partial<EnhancementOptions>;
};

export interface DragRequest {
  /** The starting latent: num_ws x w_dim style vectors, row-major. */
  latent: Float32Array;
  points: PointPair[];
  /** Flexible region, height x width bytes row-major, non-zero where the image may change. None: all may change. */
  mask?: Uint8Array;
  options?: DragOptionsInput;
}

export interface RGBAImage {
  width: number;
  height: number;
  /** RGBA bytes, row-major. */
  data: Uint8ClampedArray;
}

export interface DragStepEvent {
  type: 'step';
  /** 0 is the starting state (no update applied yet). */
  step: number;
  /** Tracked handle positions for this step's latent. */
  handles: Point[];
  distances: number[];
  /** Tracker confidence per handle (1 for nearest-neighbour tracking, which has none). */
  confidences: number[];
  /** Whether latent enhancement replaced the supervision reference for the handle at this step. */
  enhanced: boolean[];
  /** Loss of the update taken from this step's latent (NaN on the final evaluation step). */
  loss: number;
  /** The latent that produced this step's image and handles. */
  latent: Float32Array;
  image?: RGBAImage;
}

export type DragEndReason = 'reached' | 'max-steps' | 'stalled' | 'cancelled' | 'error';

export interface DragEndEvent {
  type: 'end';
  reason: DragEndReason;
  /** Number of latent updates applied. */
  steps: number;
  error?: { code: string; message: string };
}

export type DragEvent = DragStepEvent | DragEndEvent;
