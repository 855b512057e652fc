// Ground-truth landmarks, read off the same Layout (and the same SDFs) the renderer
// draws, then mapped through the same frame transform (zoom + roll) into output pixels.
//
// Pixel convention: output pixel (i, j) covers [i, i+1) x [j, j+1), so a landmark at
// (x, y) lies in pixel (floor(x), floor(y)) and a pixel centre is at (i + 0.5, j + 0.5).
import { Layout, headSdf } from './layout.js';
import { makeHairSdf } from './hair.js';

export const LANDMARK_NAMES = [
  'left_eye_outer', 'left_eye_inner', 'right_eye_inner', 'right_eye_outer',
  'left_pupil', 'right_pupil', 'left_brow_outer', 'right_brow_outer',
  'nose_tip', 'mouth_left', 'mouth_right', 'upper_lip', 'lower_lip', 'chin',
  'left_ear_tip', 'right_ear_tip', 'hair_top',
] as const;
export type LandmarkName = (typeof LANDMARK_NAMES)[number];

/**
 * First y where sdf(x, y) < 0 walking from y0 toward y1, refined by bisection to well
 * below a pixel. Used where the silhouette is a blend of shapes (chin, hair top).
 */
export function firstInside(sdf: (x: number, y: number) => number, x: number, y0: number, y1: number): number {
  const step = 0.002 * Math.sign(y1 - y0);
  let prev = y0;
  for (let y = y0; (y1 - y) * step > 0; y += step) {
    if (sdf(x, y) < 0) {
      let out = prev, inn = y;
      for (let k = 0; k < 24; k++) {
        const mid = (out + inn) / 2;
        if (sdf(x, mid) < 0) inn = mid;
        else out = mid;
      }
      return (out + inn) / 2;
    }
    prev = y;
  }
  return y1;
}

/** Local (face-frame) landmark positions in normalised units, LANDMARK_NAMES order. */
export function localLandmarks(L: Layout): Array<[number, number]> {
  const [le, re] = L.eyes;
  const m = L.mouth;
  const n = m.xs.length;
  const c = (n - 1) >> 1;
  const [lb, rb] = L.brows;
  const [lear, rear] = L.ears;
  return [
    [le.cx - le.a, le.cy], [le.cx + le.a, le.cy], [re.cx - re.a, re.cy], [re.cx + re.a, re.cy],
    [le.irisX, le.irisY], [re.irisX, re.irisY],
    [lb.xo, lb.yo], [rb.xo, rb.yo],
    [L.nose.tipX, L.nose.tipY],
    [m.xs[0], m.base[0]], [m.xs[n - 1], m.base[n - 1]],
    [m.xs[c], m.upperOut[c]], [m.xs[c], m.lowerOut[c]],
    [L.jawCX, firstInside((x, y) => headSdf(L, x, y), L.jawCX, 1.2, L.jawCY)],
    [lear.cx, lear.cy - lear.ry], [rear.cx, rear.cy - rear.ry],
    [L.cx, firstInside(makeHairSdf(L), L.cx, -0.2, L.cranCY)],
  ];
}

/** Landmarks in output pixels as a flat [x0, y0, x1, y1, ...] Float32Array. */
export function computeLandmarks(L: Layout, size: number): Float32Array {
  const c = Math.cos(L.rollRad) * L.zoom, s = Math.sin(L.rollRad) * L.zoom;
  const out = new Float32Array(LANDMARK_NAMES.length * 2);
  localLandmarks(L).forEach(([x, y], i) => {
    const dx = x - L.pivotX, dy = y - L.pivotY;
    out[2 * i] = (L.pivotX + c * dx - s * dy) * size;
    out[2 * i + 1] = (L.pivotY + s * dx + c * dy) * size;
  });
  return out;
}
