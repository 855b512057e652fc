/**
 * What the GAN and the diffusion drag loops share around their trackers: tracking every handle on a new
 * feature map (nearest neighbour, or StableDrag's discriminative tracker), each handle's confidence, the
 * confidence-based enhancement rule, and the supervision reference it switches. The loops differ only in
 * their generator, their feature map and their patch shape; both hand those in.
 */
import { sampleAt, type FeatureMap } from './features.js';
import { DiscriminativeTracker, NearestNeighbourTracker, type NearestMetric } from './trackers.js';
import type { EnhancementOptions, Point, TrackerOptions } from './types.js';

export interface HandleTrackingOptions {
  /** StableDrag's discriminative tracker picks positions; otherwise nearest neighbour does. */
  discriminative: boolean;
  /** Fit discriminative trackers even when nearest neighbour tracks, for their confidence (enhancement needs it). */
  confidence: boolean;
  tracker: TrackerOptions;
  /** Distance of the nearest-neighbour search: DragGAN's L2, DragDiffusion's L1. */
  nearestMetric?: NearestMetric;
}

export class HandleTracking {
  private readonly nearest: NearestNeighbourTracker[];
  private readonly discriminative: DiscriminativeTracker[] = [];

  /** Fits the trackers on the first step's map at the starting handles. */
  constructor(
    readonly initialMap: FeatureMap,
    readonly initialHandles: Point[],
    private readonly options: HandleTrackingOptions,
  ) {
    this.nearest = initialHandles.map((p) => new NearestNeighbourTracker(sampleAt(initialMap, [p]), options.nearestMetric));
    if (options.discriminative || options.confidence) {
      this.discriminative = initialHandles.map((p) => new DiscriminativeTracker(initialMap, p, options.tracker));
    }
  }

  /** Moves each handle to where its content is on `map` (in place) and returns each one's confidence. */
  track(map: FeatureMap, handles: Point[], radius: number): number[] {
    return handles.map((p, i) => {
      if (this.options.discriminative) {
        const res = this.discriminative[i].track(map, p, radius);
        handles[i] = res.position;
        return res.confidence;
      }
      const res = this.nearest[i].track(map, p, radius);
      handles[i] = res.position;
      return this.discriminative.length ? this.discriminative[i].confidenceAt(map, res.position) : res.confidence;
    });
  }

  /**
   * The supervision reference for handle i's patch (offsets around its current position p): the current
   * features there (DragGAN's stop-gradient), or, when enhancement is on for it, the handle's original
   * template patch from the first map, pulling the latent back towards the handle's original appearance.
   */
  reference(map: FeatureMap, i: number, p: Point, offsets: Point[], enhanced: boolean): Float32Array {
    if (enhanced) {
      const p0 = this.initialHandles[i];
      return sampleAt(this.initialMap, offsets.map((o) => [p0[0] + o[0], p0[1] + o[1]] as Point));
    }
    return sampleAt(map, offsets.map((o) => [p[0] + o[0], p[1] + o[1]] as Point));
  }
}

/** StableDrag's confidence-based enhancement: a handle still moving whose confidence fell below tau. */
export function enhancedHandles(confidences: number[], active: boolean[], enhancement: EnhancementOptions): boolean[] {
  return confidences.map((c, i) => enhancement.enabled && active[i] && c < enhancement.threshold);
}
