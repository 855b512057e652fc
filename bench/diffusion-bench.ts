/**
 * The GAN-vs-diffusion drag benchmark's loop: each case's start image is the GAN's render of its seed; the
 * GAN methods drag that render's latent (run-case.ts), the diffusion methods edit the render as a photo
 * (run-diffusion-case.ts), with the same handles, targets and mask. Methods are interleaved per case so
 * drifts in machine load hit every method alike; results already in `done` (same case and method) are kept
 * and not rerun, so an interrupted run resumes.
 */
import { renderImage, type DiffusionDragModels, type ImageGenerator, type LandmarkDetector } from '../engine/src/index.js';
import type { DragCase } from './cases.js';
import type { DiffusionMethodSpec } from './diffusion-methods.js';
import type { MethodSpec } from './methods.js';
import type { DetectorFeatureDistance } from './perceptual.js';
import { runCase, type CaseResult, type RunSettings } from './run-case.js';
import { runDiffusionCase, type DiffusionRunSettings } from './run-diffusion-case.js';

export interface ComparisonSetup {
  gen: ImageGenerator;
  detector: LandmarkDetector;
  dfd: DetectorFeatureDistance;
  /** Needed when diffusionMethods is not empty. */
  diffusion?: DiffusionDragModels;
  ganMethods: MethodSpec[];
  diffusionMethods: DiffusionMethodSpec[];
  ganSettings: RunSettings;
  diffusionSettings: DiffusionRunSettings;
}

export async function runComparison(
  setup: ComparisonSetup,
  cases: DragCase[],
  done: CaseResult[] = [],
  onResult: (r: CaseResult, all: CaseResult[]) => void = () => {},
): Promise<CaseResult[]> {
  const { gen, detector, dfd, diffusion } = setup;
  if (setup.diffusionMethods.length && !diffusion) throw new Error('diffusion methods need a diffusion model');
  const all = [...done];
  const has = new Set(done.map((r) => `${r.caseId}\u0000${r.method}`));
  for (const c of cases) {
    const todo = <T extends { name: string }>(ms: T[]) => ms.filter((m) => !has.has(`${c.id}\u0000${m.name}`));
    const ganTodo = todo(setup.ganMethods);
    const diffTodo = todo(setup.diffusionMethods);
    for (const m of ganTodo) {
      const r = await runCase(gen, detector, dfd, c, m, setup.ganSettings);
      all.push(r);
      onResult(r, all);
    }
    if (diffTodo.length === 0) continue;
    // The same image the GAN runs start from (their step-0 frame).
    const start = renderImage(gen, gen.latentFromSeed(c.seed, setup.ganSettings.psi));
    for (const m of diffTodo) {
      const r = await runDiffusionCase(diffusion!, detector, dfd, c, start, m, setup.diffusionSettings);
      all.push(r);
      onResult(r, all);
    }
  }
  return all;
}
