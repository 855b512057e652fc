/**
 * Which recorded steps of a room go with its tuned weights (pivotal tuning, docs/invert.md): every step of a
 * drag, undo or redo (they ran in a room that had the weights, if it has them now), and an inversion's steps
 * from its tuning stage on. Its W and W+ steps came before the weights existed: their frames were drawn with
 * the model's weights, so a replay draws them so again, and a fork from one starts without the weights.
 */
import type { RunRecord } from '../rooms/history-store.js';

export function stepUsesWeights(run: Pick<RunRecord, 'kind' | 'settings'>, step: number): boolean {
  if (run.kind !== 'invert') return true;
  const s = run.settings as Partial<Record<'wSteps' | 'wPlusSteps' | 'ptiSteps', unknown>>;
  const before = Number(s.wSteps ?? 0) + Number(s.wPlusSteps ?? 0);
  return Number(s.ptiSteps ?? 0) > 0 && step >= before;
}
