/**
 * Which recorded steps of a diffusion drag hold a VAE decode as their frame and which the cheap latent preview.
 * The engine decodes step k when k % decodeEvery === 0 and on the step where the drag finished (reached or
 * max-steps), so the run's settings and end say it without a column of their own. A step this reads as a
 * preview that was in fact decoded (a run that finished its drag but failed in the final denoising) only costs
 * one needless decode of the same image.
 */
import { coerceDiffusionSetting } from '../../contract/diffusion-settings.js';
import type { RunRecord } from '../rooms/history-store.js';

type Run = Pick<RunRecord, 'kind' | 'settings' | 'endReason' | 'recorded'>;

export function diffusionStepDecoded(run: Run, step: number): boolean {
  const every = coerceDiffusionSetting('decodeEvery', (run.settings as { decodeEvery?: unknown } | null)?.decodeEvery);
  if (every !== undefined && step % every === 0) return true;
  // Every step of a diffusion drag is recorded, from 0: the last is recorded - 1.
  return (run.endReason === 'reached' || run.endReason === 'max-steps') && step === run.recorded - 1;
}
