/**
 * Runs one benchmark case with one method and measures it. The drag's own time (seconds, steps) is the
 * wall time of the engine's iterator alone: frames are only collected during the run, and the landmark
 * detector and the fidelity metrics run afterwards.
 */
import { dragRun, type DragEndEvent, type DragOptionsInput, type ImageGenerator, type LandmarkDetector, type RGBAImage } from '../engine/src/index.js';
import { caseMask, type DragCase, type Point } from './cases.js';
import { fidelityRegion, meanDistance, pick, psnr, ssim } from './metrics.js';
import type { DetectorFeatureDistance } from './perceptual.js';

export interface RunSettings {
  maxSteps: number;
  /** Frames (and so tracking-error samples) every N steps; the first and last steps always have one. */
  imageEvery: number;
  /** A case counts as a detector hit when its mean distance is within this many px. */
  hitRadius: number;
  psi: number;
}

export interface CaseResult {
  caseId: string;
  method: string;
  length: DragCase['length'];
  count: DragCase['count'];
  masked: boolean;
  motion: string;
  points: number;
  /** Detector landmark vs target before the drag (px; = the drag length up to detector noise). */
  startDistance: number;
  /** Detector landmark on the first frame vs the case's handle (px; ~0 unless the model changed). */
  startError: number;
  /** Mean distance, detector landmark in the final image vs target, px at the model's resolution. */
  md: number;
  /** The same normalised to a 512 px image. */
  md512: number;
  hit: boolean;
  /** Mean |tracked handle - detector landmark| over the frames after step 0, px. */
  trackError: number;
  /** The same on the final frame only. */
  trackErrorFinal: number;
  /** Mean distance of the tracked handles to their targets when the run ended (the engine's own view). */
  trackerDistance: number;
  /** Share of (step, active handle) pairs where latent enhancement replaced the supervision reference. */
  enhancedShare: number;
  /** Mean tracker confidence over steps >= 1 and handles (1 = as at step 0). */
  confidence: number;
  psnr: number;
  ssim: number;
  dfd: number;
  steps: number;
  seconds: number;
  reached: boolean;
  reason: DragEndEvent['reason'];
  error?: string;
  /** For methods with stages (the diffusion drag: lora, invert, drag, denoise): wall seconds and events per stage. */
  stages?: { seconds: Record<string, number>; counts: Record<string, number> };
}

export interface Frame {
  step: number;
  handles: Point[];
  image: RGBAImage;
}

export async function runCase(
  gen: ImageGenerator,
  detector: LandmarkDetector,
  dfd: DetectorFeatureDistance,
  c: DragCase,
  method: { name: string; options: DragOptionsInput },
  s: RunSettings,
): Promise<CaseResult> {
  const res = gen.height; // the face benchmark cases are for square models
  const mask = caseMask(c, res);
  const latent = gen.latentFromSeed(c.seed, s.psi);
  const points = c.points.map((q) => ({ handle: q.handle, target: q.target }));
  const frames: Frame[] = [];
  let end: DragEndEvent | undefined;
  let lastHandles: Point[] = points.map((q) => q.handle);
  const tally = new TrackerTally();
  const t0 = performance.now();
  const run = dragRun(gen, {
    latent,
    points,
    mask,
    // A fixed step budget (no stall rule), so every method gets the same chance and results stay comparable.
    options: { stallSteps: 0, ...method.options, maxSteps: s.maxSteps, imageEvery: s.imageEvery },
  });
  for await (const ev of run) {
    if (ev.type === 'end') end = ev;
    else {
      lastHandles = ev.handles;
      tally.add(ev);
      if (ev.image) frames.push({ step: ev.step, handles: ev.handles, image: ev.image });
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return measureCase(detector, dfd, c, method.name, s, {
    frames,
    lastHandles,
    ...tally.summary(),
    steps: end?.steps ?? 0,
    seconds,
    reason: end?.reason ?? 'error',
    error: end?.error?.message,
  });
}

/** Tracker confidence and enhancement over a run's steps after the first, per handle (both method families). */
export class TrackerTally {
  private enhanced = 0;
  private handleSteps = 0;
  private confSum = 0;

  add(ev: { step: number; enhanced: boolean[]; confidences: number[] }): void {
    if (ev.step === 0) return;
    ev.enhanced.forEach((e) => (this.enhanced += e ? 1 : 0));
    ev.confidences.forEach((v) => (this.confSum += v));
    this.handleSteps += ev.confidences.length;
  }

  summary(): Pick<RunRecord, 'enhancedShare' | 'confidence'> {
    const n = this.handleSteps;
    return { enhancedShare: n ? this.enhanced / n : 0, confidence: n ? this.confSum / n : NaN };
  }
}

/** What a drag run left for measuring: its frames (the first is the start image) and how it ended. */
export interface RunRecord {
  /** Images at the case's resolution, in step order; frames[0] is the start image, the last the result. */
  frames: Frame[];
  /** Where the method's own tracking left the handles. */
  lastHandles: Point[];
  enhancedShare: number;
  confidence: number;
  steps: number;
  seconds: number;
  reason: CaseResult['reason'];
  error?: string;
}

/**
 * The metrics of one run (any method family): the detector reads the landmarks on every frame, fidelity
 * compares the first and last frames outside the case's mask (or away from its drag paths).
 */
export function measureCase(detector: LandmarkDetector, dfd: DetectorFeatureDistance, c: DragCase, method: string, s: Pick<RunSettings, 'hitRadius'>, r: RunRecord): CaseResult {
  const res = r.frames[0].image.height;
  const mask = caseMask(c, res);
  const { frames } = r;
  const names = detector.landmarkNames;
  const wanted = c.points.map((q) => q.landmark);
  const targets = c.points.map((q) => q.target);
  const detected = detector.detect(frames.map((f) => f.image));
  const per = names.length * 2;
  const at = (k: number) => pick(detected, k * per, names, wanted);
  const first = frames[0];
  const last = frames[frames.length - 1];
  const final = at(frames.length - 1);
  const md = meanDistance(final, targets);
  const tracked = frames.map((f, k) => ({ step: f.step, err: meanDistance(f.handles, at(k)) })).filter((f) => f.step > 0);
  const region = fidelityRegion(c, res, mask);
  return {
    caseId: c.id,
    method,
    length: c.length,
    count: c.count,
    masked: c.masked,
    motion: c.motion,
    points: c.points.length,
    startDistance: meanDistance(at(0), targets),
    startError: meanDistance(at(0), c.points.map((q) => q.handle)),
    md,
    md512: (md * 512) / res,
    hit: md <= s.hitRadius,
    trackError: tracked.length ? tracked.reduce((a, f) => a + f.err, 0) / tracked.length : NaN,
    trackErrorFinal: tracked.length ? tracked[tracked.length - 1].err : NaN,
    trackerDistance: meanDistance(r.lastHandles, targets),
    enhancedShare: r.enhancedShare,
    confidence: r.confidence,
    psnr: psnr(first.image, last.image, region),
    ssim: ssim(first.image, last.image, region),
    dfd: dfd.distance(first.image, last.image, region),
    steps: r.steps,
    seconds: r.seconds,
    reached: r.reason === 'reached',
    reason: r.reason,
    ...(r.error ? { error: r.error } : {}),
  };
}
