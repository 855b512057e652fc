// The landmark detector: PyTorch parity of the exported file (cpu and wasm), accuracy on fresh renders the
// detector never saw, and the loader's / detect()'s error messages.
// Fixture: training/landmarks/make_fixture.py (rerun it after re-exporting the detector).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendName } from '../backend.js';
import { ModelLoadError } from '../errors.js';
import { parseSafetensors, serializeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import type { RGBAImage } from '../drag/types.js';
import { renderFace, sampleFaceParams, LANDMARK_NAMES } from '../../../training/faces/index.js';
import {
  DETECTOR_METADATA_KEY, DetectorInputError, defaultDetectorPath, landmarkDetectorFromBytes, loadLandmarkDetector,
  type LandmarkDetector,
} from './detector.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'landmarks');

interface Fixture {
  modelSha256: string;
  count: number;
  size: number;
  kinds: string[];
  landmarkNames: string[];
  expected: number[][];
  groundTruth: number[][];
}

const fixture: Fixture = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8'));
const inputBytes = readFileSync(path.join(FIXTURE, 'inputs.u8'));
const modelBytes = new Uint8Array(readFileSync(defaultDetectorPath()));

function rgbToRgba(rgb: Uint8Array, size: number): RGBAImage {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    data[4 * p] = rgb[3 * p];
    data[4 * p + 1] = rgb[3 * p + 1];
    data[4 * p + 2] = rgb[3 * p + 2];
    data[4 * p + 3] = 255;
  }
  return { width: size, height: size, data };
}

const fixtureImages = Array.from({ length: fixture.count }, (_, k) =>
  rgbToRgba(inputBytes.subarray(k * fixture.size * fixture.size * 3, (k + 1) * fixture.size * fixture.size * 3), fixture.size),
);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Mean Euclidean distance between two flat (x, y) lists. */
function meanError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i += 2) s += Math.hypot(a[i] - b[i], a[i + 1] - b[i + 1]);
  return s / (a.length / 2);
}

describe('the fixture', () => {
  it('was made from the bundled detector file', () => {
    const sha = createHash('sha256').update(modelBytes).digest('hex');
    expect(sha, 'tests/fixtures/landmarks is stale: rerun training/landmarks/make_fixture.py').toBe(fixture.modelSha256);
  });
});

for (const backend of ['cpu', 'wasm'] as BackendName[]) {
  describe(`landmark detector on ${backend}`, () => {
    let detector: LandmarkDetector;
    beforeAll(async () => {
      await initBackend({ backend, log: () => {} });
      detector = await loadLandmarkDetector();
    });
    afterAll(() => detector?.dispose());

    it('has the renderer\'s landmark names in order', () => {
      expect(detector.landmarkNames).toEqual([...LANDMARK_NAMES]);
      expect(detector.landmarkNames).toEqual(fixture.landmarkNames);
    });

    it('reproduces the PyTorch outputs within 1e-3 px (batch and single image)', () => {
      const out = detector.detect(fixtureImages);
      const n = detector.landmarkNames.length * 2;
      expect(out.length).toBe(fixture.count * n);
      let worst = 0;
      fixture.expected.forEach((exp, k) => {
        worst = Math.max(worst, maxAbsDiff(out.subarray(k * n, (k + 1) * n), exp));
      });
      expect(worst).toBeLessThan(1e-3);
      expect(maxAbsDiff(detector.detect(fixtureImages[fixture.count - 1]), fixture.expected[fixture.count - 1])).toBeLessThan(1e-3);
      // Sanity: the fixture's renders are detected accurately, not just reproducibly.
      fixture.groundTruth.forEach((gt, k) => expect(meanError(out.subarray(k * n, (k + 1) * n), gt)).toBeLessThan(2.5));
    });

    if (backend === 'wasm') {
      it('finds the landmarks of fresh renders (seeds 900000+) within 2 px on average', () => {
        const renders = Array.from({ length: 8 }, (_, i) => renderFace(sampleFaceParams(900000 + i), 128));
        const out = detector.detect(renders.map((r) => rgbToRgba(r.rgb, 128)));
        const n = detector.landmarkNames.length * 2;
        const errors = renders.map((r, k) => {
          // Renderer landmarks: pixel (i, j) covers [i, i+1); detector: (0, 0) is the top-left pixel's centre.
          const truth = Array.from(r.landmarks, (v) => v - 0.5);
          return meanError(out.subarray(k * n, (k + 1) * n), truth);
        });
        const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
        expect(mean, `per-image mean errors ${errors.map((e) => e.toFixed(2)).join(', ')}`).toBeLessThan(2);
      });

      it('rejects images of the wrong size or layout', () => {
        expect(() => detector.detect({ width: 64, height: 64, data: new Uint8ClampedArray(64 * 64 * 4) })).toThrow(DetectorInputError);
        expect(() => detector.detect({ width: 128, height: 128, data: new Uint8ClampedArray(128 * 128 * 3) })).toThrow(/expected 65536 \(RGBA\)/);
        expect(detector.detect([]).length).toBe(0);
      });
    }
  });
}

describe('loading a landmark detector', () => {
  const file = parseSafetensors(modelBytes);
  const config = JSON.parse(file.metadata[DETECTOR_METADATA_KEY]);

  function rebuilt(edit: (t: Map<string, TensorToWrite>, c: Record<string, unknown>) => void): Uint8Array {
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, t] of file.tensors) tensors.set(name, { shape: t.shape, data: t.data, dtype: 'F32' });
    const c = structuredClone(config);
    edit(tensors, c);
    return serializeSafetensors(tensors, { [DETECTOR_METADATA_KEY]: JSON.stringify(c) });
  }

  function loadError(bytes: Uint8Array): string {
    try {
      landmarkDetectorFromBytes(bytes, 'test.safetensors').dispose();
    } catch (err) {
      expect(err).toBeInstanceOf(ModelLoadError);
      return (err as Error).message;
    }
    throw new Error('expected the load to fail');
  }

  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
  });

  it('reports a missing file, a missing config, missing and misshapen tensors', async () => {
    await expect(loadLandmarkDetector(path.join(FIXTURE, 'nope.safetensors'))).rejects.toThrow(/landmark detector not found/);
    expect(loadError(serializeSafetensors(new Map(), {}))).toMatch(/no 'stabledrag\.detector' entry/);
    expect(loadError(rebuilt((t) => t.delete('enc3.weight')))).toMatch(/missing tensor 'enc3\.weight' \(expected shape \[64,32,3,3\]\)/);
    expect(loadError(rebuilt((t) => t.set('head.bias', { shape: [16], data: new Float32Array(16), dtype: 'F32' })))).toMatch(
      /'head\.bias' has shape \[16\], expected \[17\]/,
    );
    expect(loadError(rebuilt((t) => t.set('extra', { shape: [1], data: new Float32Array(1), dtype: 'F32' })))).toMatch(/unexpected tensor 'extra'/);
    expect(loadError(rebuilt((t) => (t.get('enc1.bias')!.data = new Float32Array(16).fill(NaN))))).toMatch(/'enc1\.bias' holds a non-finite value/);
  });

  it('checks the config: names against the head, the channel chain, the architecture', () => {
    expect(loadError(rebuilt((_, c) => (c.landmarkNames as string[]).pop()))).toMatch(/gives 17 heatmaps but there are 16 landmark names/);
    expect(loadError(rebuilt((_, c) => ((c.encoder as Array<{ in: number }>)[2].in = 48)))).toMatch(/encoder\[2\] \('enc3'\): takes 48 channels but the previous layer gives 32/);
    expect(loadError(rebuilt((_, c) => (c.architecture = 'resnet')))).toMatch(/architecture "resnet" is not supported/);
    expect(loadError(rebuilt((_, c) => (c.heatmapSize = 64)))).toMatch(/end at resolution 32 but heatmapSize is 64/);
  });

  it('loads an F32 re-encoding of the same weights with the same outputs', () => {
    const det = landmarkDetectorFromBytes(rebuilt(() => {}), 'f32 copy');
    try {
      expect(maxAbsDiff(det.detect(fixtureImages[0]), fixture.expected[0])).toBeLessThan(1e-3);
    } finally {
      det.dispose();
    }
  });
});
