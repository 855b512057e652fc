/**
 * The suggested face crop (engine/src/landmarks/face-crop.ts) with the shipped landmark detector on wasm: faces
 * of the training renderer pasted at known squares into 640x480 backgrounds are found (IoU >= 0.7 with the
 * pasted square, confident), face-free backgrounds are not (not confident). IoU 0.7 between two squares of
 * the same size is an offset of about a tenth of the side (or sizes within ~20%), well inside what the
 * inversion tolerates and what a user nudges; the detector's own landmark error on renders is ~2 px at 128.
 * FRAME_TEMPLATE is checked against the renderer it was computed from.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, loadLandmarkDetector, type LandmarkDetector } from '../../engine/src/index.js';
import { FACE_CROP_CONFIDENT, FRAME_TEMPLATE, iou, suggestFaceCrop } from '../../engine/src/landmarks/face-crop.js';
import { renderFace, sampleFaceParams } from '../../training/faces/index.js';
import { background, pasteFace } from '../../bench/pasted-faces.js';
import { mulberry32 } from '../../training/faces/prng.js';

let detector: LandmarkDetector;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  detector = await loadLandmarkDetector();
}, 60_000);

describe('suggested face crop', () => {
  it('uses the training renders\' mean landmark layout', () => {
    const sum = new Float64Array(FRAME_TEMPLATE.length);
    for (let s = 0; s < 400; s++) renderFace(sampleFaceParams(s, 1), 128).landmarks.forEach((v, i) => (sum[i] += v));
    sum.forEach((v, i) => expect(Math.abs(v / 400 - FRAME_TEMPLATE[i])).toBeLessThan(0.01));
  }, 60_000);

  it('finds faces pasted at known squares, and is not confident without one', () => {
    const r = mulberry32(7);
    for (let k = 0; k < 6; k++) {
      const image = background(640, 480, 100 + k);
      const side = Math.round(110 + r() * 250);
      const left = Math.round(r() * (640 - side)), top = Math.round(r() * (480 - side));
      pasteFace(image, 1000 + k, left, top, side);
      const found = suggestFaceCrop(detector, image);
      expect(iou(found.window, { left, top, side }), `face ${k} at ${side}px+${left}+${top}`).toBeGreaterThanOrEqual(0.7);
      expect(found.confidence).toBeGreaterThanOrEqual(FACE_CROP_CONFIDENT);
    }
    for (let k = 0; k < 3; k++) {
      const found = suggestFaceCrop(detector, background(640, 480, 500 + k));
      expect(found.confidence, `background ${k}`).toBeLessThan(FACE_CROP_CONFIDENT);
    }
  }, 180_000);
});
