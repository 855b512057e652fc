/**
 * Runs one benchmark case with a diffusion drag method and measures it like the GAN runs (run-case.ts's
 * measureCase). The start image is the GAN's render of the case's seed, edited as a photo: it is resized to
 * the side the diffusion model works at, with the case's handles, targets and mask scaled alike (scaleCase),
 * and every image the run yields is resized back to the case's 128 px, where the detector and the fidelity
 * metrics work. frames[0] is the start image itself, so fidelity includes what the VAE's round trip loses.
 * `seconds` is the whole edit (LoRA, inversion, drag, denoising) without the resizing and the metrics.
 */
import {
  diffusionDragRun, type DiffusionDragEndEvent, type DiffusionDragModels, type DiffusionDragOptionsInput, type LandmarkDetector, type RGBAImage,
} from '../engine/src/index.js';
import { caseMask, type DragCase, type Point } from './cases.js';
import type { DiffusionMethodSpec } from './diffusion-methods.js';
import { addEvent, emptyStageTimes } from './diffusion-stages.js';
import type { DetectorFeatureDistance } from './perceptual.js';
import { scaleCase } from './real-widths.js';
import { resizeRGBA } from './resize.js';
import { measureCase, TrackerTally, type CaseResult, type Frame } from './run-case.js';

export interface DiffusionRunSettings {
  /** Side of the square image the diffusion model edits. */
  size: number;
  prompt: string;
  /** Options both methods share (step counts, LoRA); the method's own options go over them. */
  options: DiffusionDragOptionsInput;
  hitRadius: number;
}

/** The image side a diffusion model was trained at: its UNet's sample size times the VAE's factor. */
export function nativeSize(models: Pick<DiffusionDragModels, 'unet' | 'vae'>): number {
  return models.unet.config.sampleSize * models.vae.downFactor;
}

export async function runDiffusionCase(
  models: DiffusionDragModels,
  detector: LandmarkDetector,
  dfd: DetectorFeatureDistance,
  c: DragCase,
  start: RGBAImage,
  method: DiffusionMethodSpec,
  s: DiffusionRunSettings,
): Promise<CaseResult> {
  const res = start.width;
  if (res !== 128 || start.height !== 128) throw new Error(`case images are 128 px (scaleCase's base), got ${start.width}x${start.height}`);
  const work = scaleCase(c, s.size);
  const back = res / s.size;
  const image = await resizeRGBA(start, s.size);
  const raw: Frame[] = [];
  let lastHandles: Point[] = c.points.map((q) => q.handle);
  let lastStep = 0;
  const tally = new TrackerTally();
  let end: DiffusionDragEndEvent | undefined;
  const stages = emptyStageTimes();
  const t0 = performance.now();
  let last = t0;
  const run = diffusionDragRun(models, {
    image,
    prompt: s.prompt,
    points: work.points.map((q) => ({ handle: q.handle, target: q.target })),
    mask: caseMask(work, s.size),
    options: { ...s.options, ...method.options, lora: { ...s.options.lora, ...method.options.lora } },
  });
  for await (const ev of run) {
    const now = performance.now();
    addEvent(stages, ev, (now - last) / 1000);
    last = now;
    if (ev.type === 'end') end = ev;
    else if (ev.type === 'step') {
      lastStep = ev.step;
      lastHandles = ev.handles.map(([x, y]) => [x * back, y * back]);
      tally.add(ev);
      // Step 0's decoded prediction is not the start image; frames[0] must be (the detector's start check).
      if (ev.step > 0 && ev.image) raw.push({ step: ev.step, handles: lastHandles, image: ev.image });
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  if (end?.image) raw.push({ step: lastStep, handles: lastHandles, image: end.image });
  const frames: Frame[] = [{ step: 0, handles: c.points.map((q) => q.handle), image: start }];
  for (const f of raw) frames.push({ ...f, image: await resizeRGBA(f.image, res) });
  const result = measureCase(detector, dfd, c, method.name, s, {
    frames,
    lastHandles,
    ...tally.summary(),
    steps: end?.steps ?? 0,
    seconds,
    reason: end?.reason ?? 'error',
    error: end?.error?.message,
  });
  return { ...result, stages };
}
