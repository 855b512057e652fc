// Drag benchmark cases: deterministic planning, category rules (lengths, point counts, masks), prefix
// stability, and generation from a model + the landmark detector (random-weight model, so only the
// mechanics are checked).
import { describe, expect, it } from 'vitest';
import {
  caseMask, categoryKey, categoryOf, defaultPlanOptions, dist, planCases, type DragCase,
} from '../../bench/cases.js';
import { MOTIONS, motionLandmarks } from '../../bench/motions.js';
import { LANDMARK_NAMES } from '../../training/faces/index.js';

// A face's landmarks (a procedural render at 128 px), moved a little per seed.
const BASE: Record<string, [number, number]> = {
  left_eye_outer: [45, 58], left_eye_inner: [60, 59], right_eye_inner: [78, 59], right_eye_outer: [92, 60],
  left_pupil: [53, 58], right_pupil: [86, 59], left_brow_outer: [44, 52], right_brow_outer: [94, 54],
  nose_tip: [70, 74], mouth_left: [61, 88], mouth_right: [77, 89], upper_lip: [69, 89], lower_lip: [69, 94],
  chin: [65, 111], left_ear_tip: [19, 53], right_ear_tip: [105, 56], hair_top: [66, 8],
};
const names = [...LANDMARK_NAMES];
const landmarksOf = (seed: number) => {
  const dx = ((seed * 7) % 11) - 5;
  const dy = ((seed * 13) % 7) - 3;
  return Float32Array.from(names.flatMap((n) => [BASE[n][0] + dx, BASE[n][1] + dy]));
};

const opts = { ...defaultPlanOptions(128), count: 64 };
const cases = planCases(opts, landmarksOf, names);

describe('drag case planning', () => {
  it('uses only landmarks the detector knows', () => {
    expect(motionLandmarks().filter((n) => !names.includes(n as (typeof names)[number]))).toEqual([]);
    expect(MOTIONS.some((m) => m.long)).toBe(true);
  });

  it('is deterministic, and a shorter list is a prefix of a longer one', () => {
    expect(planCases(opts, landmarksOf, names)).toEqual(cases);
    expect(planCases({ ...opts, count: 16 }, landmarksOf, names)).toEqual(cases.slice(0, 16));
    const other = planCases({ ...opts, masterSeed: opts.masterSeed + 1, count: 16 }, landmarksOf, names);
    expect(other.map((c) => c.seed)).not.toEqual(cases.slice(0, 16).map((c) => c.seed));
  });

  it('cycles through the 8 categories, so every prefix of 8 is balanced', () => {
    cases.forEach((c, i) => expect({ length: c.length, count: c.count, masked: c.masked }).toEqual(categoryOf(i)));
    expect(new Set(cases.slice(0, 8).map(categoryKey)).size).toBe(8);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
  });

  it('keeps short drags under 10% of the image and long drags over 25%', () => {
    for (const c of cases) {
      for (const q of c.points) {
        const d = dist(q.handle, q.target);
        if (c.length === 'short') expect(d).toBeLessThan(12.8);
        else expect(d).toBeGreaterThan(32);
      }
    }
  });

  it('puts one point in single cases and several in multi cases, on their landmarks', () => {
    for (const c of cases) {
      if (c.count === 'single') expect(c.points).toHaveLength(1);
      else expect(c.points.length).toBeGreaterThanOrEqual(2);
      const lm = landmarksOf(c.seed);
      for (const q of c.points) {
        const k = names.indexOf(q.landmark as (typeof names)[number]);
        expect(q.handle[0]).toBeCloseTo(lm[2 * k], 1);
        expect(q.handle[1]).toBeCloseTo(lm[2 * k + 1], 1);
        for (const v of [...q.handle, ...q.target]) expect(v >= 3 && v <= 124).toBe(true);
      }
    }
  });

  it('gives masked cases a mask that covers every handle and target, and unmasked ones none', () => {
    for (const c of cases) {
      const m = caseMask(c, 128);
      if (!c.masked) {
        expect(m).toBeUndefined();
        continue;
      }
      expect(c.maskBoxes).toHaveLength(c.points.length);
      for (const q of c.points) {
        for (const p of [q.handle, q.target]) expect(m![Math.round(p[1]) * 128 + Math.round(p[0])]).toBe(1);
      }
      // Not everything: the fixed region must exist.
      expect(m!.reduce((a, b) => a + b, 0)).toBeLessThan(128 * 128 * 0.6);
    }
  });

  it('fails loudly when no motion can fit (degenerate landmarks)', () => {
    const allAtCorner = () => new Float32Array(names.length * 2);
    expect(() => planCases({ ...opts, count: 2 }, allAtCorner, names)).toThrow(/no drag fits/);
  });
});

describe('case generation from a model', () => {
  it('renders, detects and plans deterministically, recording the model hash', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { FACES128_CONFIG, generatorFromBytes, initBackend, loadLandmarkDetector, randomModelBytes, defaultDetectorPath } = await import('../../engine/src/index.js');
    const { generateCaseFile, sha256File } = await import('../../bench/generate.js');
    await initBackend({ backend: 'wasm', log: () => {} });
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-cases-'));
    const modelPath = path.join(dir, 'model.safetensors');
    const bytes = randomModelBytes(FACES128_CONFIG, { seed: 3 });
    writeFileSync(modelPath, bytes);
    const gen = generatorFromBytes(bytes, 'random');
    const detector = await loadLandmarkDetector();
    const o = { ...defaultPlanOptions(128), count: 8 };
    const files = { model: modelPath, detector: defaultDetectorPath() };
    const a = generateCaseFile(gen, detector, files, o);
    const b = generateCaseFile(gen, detector, files, o);
    expect(a).toEqual(b);
    expect(a.model.sha256).toBe(sha256File(modelPath));
    expect(a.cases).toHaveLength(8);
    const first: DragCase = a.cases[0];
    const lm = detector.detect(gen.render(gen.latentFromSeed(first.seed, a.psi)));
    const k = detector.landmarkNames.indexOf(first.points[0].landmark);
    expect(first.points[0].handle[0]).toBeCloseTo(lm[2 * k], 1);
    detector.dispose();
    gen.dispose();
  });
});
