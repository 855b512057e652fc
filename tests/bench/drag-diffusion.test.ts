// The GAN-vs-diffusion drag benchmark's loop on the bundled GAN and the tiny diffusion fixture (random
// weights, 16 px native; run at 32 px, so the harness's resizing both ways is exercised): every method's
// row is complete and sane, the diffusion rows carry their stages, and a second call with the results
// so far reruns nothing. Only the mechanics are checked: the fixture's edits mean nothing, and no timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  defaultModelPath, initBackend, loadDiffusionDragModels, loadGenerator, loadLandmarkDetector, type LoadedDiffusionDragModels, type ImageGenerator, type LandmarkDetector,
} from '../../engine/src/index.js';
import { checkCaseFile } from '../../bench/cases.js';
import { runComparison, type ComparisonSetup } from '../../bench/diffusion-bench.js';
import { diffusionMethodSpecs } from '../../bench/diffusion-methods.js';
import { diffusionReport } from '../../bench/diffusion-summary.js';
import { methodSpecs } from '../../bench/methods.js';
import { DetectorFeatureDistance } from '../../bench/perceptual.js';
import { nativeSize } from '../../bench/run-diffusion-case.js';
import type { CaseResult } from '../../bench/run-case.js';

const TINY_DIR = path.join(__dirname, '..', 'fixtures', 'diffusion', 'tiny');
const caseFile = checkCaseFile(JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'bench', 'cases.json'), 'utf8')), 'bench/cases.json');
// Case 5: a long single-point drag with a mask (the first cases are short and unmasked).
const cases = [caseFile.cases[5]];

describe('GAN vs diffusion drag benchmark', () => {
  let gen: ImageGenerator;
  let detector: LandmarkDetector;
  let diffusion: LoadedDiffusionDragModels;
  let setup: ComparisonSetup;
  let results: CaseResult[];

  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    gen = await loadGenerator(defaultModelPath());
    detector = await loadLandmarkDetector();
    diffusion = loadDiffusionDragModels(TINY_DIR);
    expect(nativeSize(diffusion)).toBe(16);
    setup = {
      gen,
      detector,
      dfd: new DetectorFeatureDistance(),
      diffusion,
      ganMethods: methodSpecs(['draggan', 'stabledrag']),
      diffusionMethods: diffusionMethodSpecs(['dragdiffusion', 'stabledrag-diff']),
      ganSettings: { maxSteps: 4, imageEvery: 2, hitRadius: 4, psi: caseFile.psi },
      diffusionSettings: { size: 32, prompt: 'a face', hitRadius: 4, options: { ddimSteps: 10, maxSteps: 2, decodeEvery: 1, lora: { steps: 1, batch: 1 } } },
    };
    results = await runComparison(setup, cases);
  });

  afterAll(() => {
    diffusion?.dispose();
    detector?.dispose();
  });

  it('has one complete row per case and method, with the GAN and diffusion runs starting from the same image', () => {
    expect(results.map((r) => r.method)).toEqual(['draggan', 'stabledrag', 'dragdiffusion', 'stabledrag-diff']);
    const gan = results[0];
    for (const r of results) {
      expect(r.caseId).toBe(cases[0].id);
      expect(r.error).toBeUndefined();
      expect(['reached', 'max-steps']).toContain(r.reason);
      for (const key of ['startDistance', 'md', 'md512', 'trackerDistance', 'psnr', 'ssim', 'dfd', 'seconds'] as const) {
        expect(Number.isFinite(r[key]), `${r.method} ${key}`).toBe(true);
      }
      // Same start image: the detector reads the same landmarks on it for every method.
      expect(r.startDistance).toBeCloseTo(gan.startDistance, 6);
      expect(r.startError).toBeCloseTo(gan.startError, 6);
      expect(r.md).toBeGreaterThanOrEqual(0);
      expect(r.psnr).toBeGreaterThan(0);
      expect(r.ssim).toBeLessThanOrEqual(1);
      expect(r.dfd).toBeGreaterThanOrEqual(0);
      expect(r.seconds).toBeGreaterThan(0);
    }
    // The case's long drag, at 128 px: the start distance is about the drag's length.
    const len = Math.hypot(cases[0].points[0].target[0] - cases[0].points[0].handle[0], cases[0].points[0].target[1] - cases[0].points[0].handle[1]);
    expect(Math.abs(gan.startDistance - len)).toBeLessThan(len / 2);
  });

  it('times the diffusion stages and reports handles at the case resolution', () => {
    for (const r of results.slice(2)) {
      expect(r.steps).toBeGreaterThanOrEqual(0);
      expect(r.steps).toBeLessThanOrEqual(2);
      const st = r.stages!;
      expect(st.counts).toMatchObject({ lora: 1, invert: 1, denoise: 1 });
      // One step event per latent evaluated: each update's, and the last one's that ends the loop.
      expect(st.counts.drag).toBe(r.steps + 1);
      for (const s of ['lora', 'invert', 'drag', 'denoise']) expect(st.seconds[s]).toBeGreaterThan(0);
      expect(st.seconds.lora + st.seconds.invert + st.seconds.drag + st.seconds.denoise).toBeLessThanOrEqual(r.seconds + 1e-6);
      // Tracked handles come back in 128 px coordinates, inside the image.
      expect(r.trackerDistance).toBeLessThan(128 * Math.SQRT2);
      expect(Number.isFinite(r.trackError)).toBe(true);
    }
    for (const r of results.slice(0, 2)) expect(r.stages).toBeUndefined();
  });

  it('resumes: a second call with the results so far reruns nothing', async () => {
    const again = await runComparison(setup, cases, results);
    expect(again).toEqual(results);
  });

  it('writes the paired tables, GAN vs diffusion included', () => {
    const md = diffusionReport(results);
    expect(md).toContain('| draggan vs dragdiffusion | long | 1 |');
    expect(md).toContain('| stabledrag vs stabledrag-diff | all | 1 |');
    expect(md).toMatch(/\| stabledrag-diff \| 1 \| [\d.]+ \|/);
    expect(md).not.toContain('ended with an error');
  });
});
