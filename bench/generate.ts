/**
 * Builds bench/cases.json from a model: each case's seed is rendered (model's default truncation), the
 * landmark detector finds the 17 landmarks, and the planner (cases.ts) puts handles on them and targets
 * where they may plausibly go. The handles depend on the model, so the file records its sha256.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { renderImage, type ImageGenerator, type LandmarkDetector } from '../engine/src/index.js';
import { planCases, type CaseFile, type PlanOptions } from './cases.js';
import { motionLandmarks } from './motions.js';

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A model argument (file or directory) -> the .safetensors file. */
export function modelFile(p: string, fileName = 'model.safetensors'): string {
  return statSync(p).isDirectory() ? path.join(p, fileName) : p;
}

/** The free-form `training` object of the model's config (the exporter writes it), if any. */
export function trainingInfo(gen: ImageGenerator): unknown {
  return (gen.config as Record<string, unknown>).training;
}

export function generateCaseFile(
  gen: ImageGenerator,
  detector: LandmarkDetector,
  files: { model: string; detector: string },
  options: PlanOptions,
  relativeTo = process.cwd(),
): CaseFile {
  const names = detector.landmarkNames;
  const missing = motionLandmarks().filter((n) => !names.includes(n));
  if (missing.length) throw new Error(`the detector lacks landmarks the motions use: ${missing.join(', ')}`);
  const cache = new Map<number, Float32Array>();
  const landmarksOf = (seed: number) => {
    let lm = cache.get(seed);
    if (!lm) {
      lm = detector.detect(renderImage(gen, gen.latentFromSeed(seed)));
      cache.set(seed, lm);
    }
    return lm;
  };
  const cases = planCases(options, landmarksOf, names);
  return {
    format: 'stabledrag-drag-bench-v1',
    generatedBy: 'npm run bench:drag -- --generate (bench/generate.ts)',
    model: {
      file: path.relative(relativeTo, files.model),
      sha256: sha256File(files.model),
      name: gen.config.name,
      training: trainingInfo(gen) ?? null,
    },
    detector: { file: path.relative(relativeTo, files.detector), sha256: sha256File(files.detector) },
    psi: gen.config.truncation_psi,
    options,
    landmarkNames: [...names],
    cases,
  };
}

/** JSON with one case per line: diffable, and small enough to keep in the repository. */
export function formatCaseFile(f: CaseFile): string {
  const { cases, ...head } = f;
  const top = JSON.stringify(head, null, 2).replace(/\n}$/, '');
  return `${top},\n  "cases": [\n${cases.map((c) => `    ${JSON.stringify(c)}`).join(',\n')}\n  ]\n}\n`;
}
