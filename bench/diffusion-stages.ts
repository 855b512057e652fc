/**
 * Wall time per stage of a diffusion drag, read off its event stream. Each event's time is the time since
 * the previous event: a stage event of LoRA step s carries that step's cost (the first also the prompt and
 * VAE encodings), the invert event the whole inversion (with those encodings when LoRA is off), a step event
 * one drag step (with its VAE decode when it has one), the final denoise event the mutual-attention
 * denoising and the decode. Whatever the consumer does between events is counted too, so keep it light.
 */
import type { DiffusionDragEvent } from '../engine/src/index.js';

export type DiffusionStage = 'lora' | 'invert' | 'drag' | 'denoise';

export interface StageTimes {
  /** Seconds spent in each stage. */
  seconds: Record<DiffusionStage, number>;
  /** Events of each stage (LoRA steps, 1 inversion, drag steps, 1 denoising). */
  counts: Record<DiffusionStage, number>;
}

export function emptyStageTimes(): StageTimes {
  return { seconds: { lora: 0, invert: 0, drag: 0, denoise: 0 }, counts: { lora: 0, invert: 0, drag: 0, denoise: 0 } };
}

export function stageOf(ev: DiffusionDragEvent): DiffusionStage {
  if (ev.type === 'step') return 'drag';
  if (ev.type === 'end') return 'denoise';
  return ev.stage;
}

/** Adds one event's share: `seconds` since the previous event (or the run's start). */
export function addEvent(t: StageTimes, ev: DiffusionDragEvent, seconds: number): void {
  const stage = stageOf(ev);
  t.seconds[stage] += seconds;
  // The denoising stage emits a start and a finish event; count it once.
  if (ev.type === 'step' || (ev.type === 'stage' && (ev.stage === 'lora' || ev.step === ev.steps))) t.counts[stage]++;
}
