// Geometry of a face, derived purely from its params. Both the renderer (face.ts) and
// the landmark extractor (landmarks.ts) read this one structure, so landmarks are by
// construction where the drawing puts the features.
//
// Coordinates are "face-local", in normalised image units (0..1, y down). The frame
// maps local to image coordinates: a zoom (so the face fills the frame like an
// FFHQ-aligned crop) and the head roll, both about (pivotX, pivotY). Yaw is
// approximated by projecting features from a vertical cylinder (the face surface)
// turned by yawRad.
import type { FaceParams } from './params.js';
import { smin, sdEllipse, lerp } from './sdf.js';

export interface Eye {
  cx: number; cy: number;
  a: number; // half-width (corner to centre)
  bU: number; bL: number; // upper / lower lid arc heights
  squash: number; // horizontal foreshortening from yaw (1 = frontal)
  irisX: number; irisY: number; irisR: number; pupilR: number;
}

export interface Brow { xi: number; yi: number; xm: number; ym: number; xo: number; yo: number; r: number }

export interface Ear { cx: number; cy: number; rx: number; ry: number }

export interface Layout {
  cx: number;
  pivotX: number; pivotY: number; rollRad: number; zoom: number; yawRad: number;
  // head = smooth union of cranium and jaw ellipses
  W: number; cranCY: number; cranRY: number;
  jawCX: number; jawCY: number; jawRX: number; jawRY: number;
  eyeY: number;
  eyes: [Eye, Eye]; // image-left, image-right
  brows: [Brow, Brow];
  ears: [Ear, Ear];
  nose: { tipX: number; tipY: number; w: number; bridgeX: number; len: number };
  mouth: {
    xs: Float64Array; // x(t) for the sample ts below (projected)
    ts: Float64Array;
    base: Float64Array; // mouth line
    upperIn: Float64Array; lowerIn: Float64Array; // opening
    upperOut: Float64Array; lowerOut: Float64Array; // lip outer contours
    open: number;
  };
  hair: { style: number; capCY: number; capRX: number; capRY: number; templeY: number; len: number; vol: number; partX: number };
  neck: { hw: number; top: number };
  light: { x: number; y: number; z: number; key: number; amb: number };
}

// Zoom about a point near the hairline so the chin drops toward the bottom edge while
// the tallest hair still fits: eyes land at ~0.46 and mouths at ~0.72 of the height.
export const FRAME_ZOOM = 1.12;
export const FRAME_PIVOT_Y = 0.42; // also the roll centre: the head tilts about its middle

export const MOUTH_SAMPLES = 25; // odd, so t = 0 (the lip centre landmarks) is a sample

export function headSdf(L: Layout, x: number, y: number): number {
  return smin(
    sdEllipse(x, y, L.cx, L.cranCY, L.W, L.cranRY),
    sdEllipse(x, y, L.jawCX, L.jawCY, L.jawRX, L.jawRY),
    0.08,
  );
}

export function computeLayout(p: FaceParams): Layout {
  const cx = 0.5;
  const yawRad = p.yaw * 0.35;
  const rollRad = p.roll * 0.14;
  const cosY = Math.cos(yawRad);
  const sinY = Math.sin(yawRad);

  const W = 0.27 + 0.045 * p.faceWidth;
  const cranCY = 0.42;
  const cranRY = 0.27 + 0.03 * p.faceHeight;
  const chinY = 0.8 + 0.045 * p.faceHeight;
  const jawCY = 0.56;
  const jawRY = chinY - jawCY;
  const jawRX = W * (0.68 + 0.3 * p.jaw);
  const eyeY = 0.45 + 0.01 * p.faceHeight;
  // Front of the face is flatter than a cylinder of radius W: depth scale 0.85.
  const zf = 0.85 * W;
  const proj = (u: number, depth: number): number => {
    const z = zf * Math.sqrt(Math.max(0, 1 - (u / W) ** 2));
    return cx + u * cosY + (z + depth) * sinY;
  };
  const jawCX = cx + 0.45 * W * sinY; // chin swings toward the turn

  // Eyes: corners projected separately, so the far eye narrows under yaw.
  const spacing = 0.1 + 0.032 * p.eyeSpacing;
  const a0 = 0.047 + 0.017 * p.eyeSize;
  const open = 0.55 + 0.45 * p.eyeOpen;
  const eyes = [-1, 1].map((side) => {
    const uOut = side * (spacing + a0);
    const uIn = side * (spacing - a0);
    const x1 = proj(Math.min(uOut, uIn), 0);
    const x2 = proj(Math.max(uOut, uIn), 0);
    const a = (x2 - x1) / 2;
    const ecx = (x1 + x2) / 2;
    const squash = a / a0;
    const bU = a0 * 0.62 * open;
    const bL = a0 * 0.36 * (0.55 + 0.45 * open);
    const irisR = Math.min(a0 * 0.6, (bU + bL) * 0.64);
    const pupilR = irisR * 0.46;
    const irisX = ecx + p.gazeX * (a - irisR * squash) * 0.75;
    const irisY = eyeY - (bU - bL) * 0.25 + p.gazeY * (bU + bL) * 0.12;
    return { cx: ecx, cy: eyeY, a, bU, bL, squash, irisX, irisY, irisR, pupilR } satisfies Eye;
  }) as [Eye, Eye];

  const browR = 0.006 + 0.006 * p.browThickness;
  const brows = eyes.map((e, k) => {
    const side = k === 0 ? -1 : 1;
    const base = e.cy - e.bU - 0.022 - 0.028 * p.browHeight;
    const inner = side < 0 ? e.cx + e.a * 0.95 : e.cx - e.a * 0.95;
    const outer = side < 0 ? e.cx - e.a * 1.2 : e.cx + e.a * 1.2;
    const yi = base + 0.014 * p.browTilt;
    const yo = base - 0.01 * p.browTilt + 0.006;
    return { xi: inner, yi, xm: (inner + outer) / 2, ym: base - 0.012, xo: outer, yo, r: browR } satisfies Brow;
  }) as [Brow, Brow];

  // Ears sit behind the cylinder axis, so both swing against the turn; the far one
  // ends up behind the head outline.
  const earRY = 0.052 + 0.02 * p.earSize;
  const earRX = 0.026 + 0.012 * p.earSize;
  const earCY = eyeY + 0.04;
  const ears = [-1, 1].map((side) => ({
    cx: cx + side * (0.93 * W + 0.4 * earRX) * cosY - 0.3 * W * sinY,
    cy: earCY, rx: earRX, ry: earRY,
  })) as [Ear, Ear];

  const noseLen = 0.085 + 0.055 * p.noseLength;
  const nose = {
    tipX: proj(0, 0.07), tipY: eyeY + noseLen, w: 0.024 + 0.018 * p.noseWidth,
    bridgeX: proj(0, 0.02), len: noseLen,
  };

  // Mouth: sample curves over t in [-1, 1] (corner to corner).
  const mouthY = Math.max(eyeY + (chinY - eyeY) * 0.6, nose.tipY + 0.06);
  const mw = 0.052 + 0.035 * p.mouthWidth;
  const smileK = 0.02 * p.smile;
  const ho = 0.05 * p.mouthOpen;
  const thU = 0.009 + 0.01 * p.lipThickness;
  const thL = 0.012 + 0.013 * p.lipThickness;
  const n = MOUTH_SAMPLES;
  const mk = () => new Float64Array(n);
  const ts = mk(), xs = mk(), base = mk(), upperIn = mk(), lowerIn = mk(), upperOut = mk(), lowerOut = mk();
  for (let i = 0; i < n; i++) {
    const t = -1 + (2 * i) / (n - 1);
    const bell = 1 - t * t;
    ts[i] = t;
    xs[i] = proj(t * mw, 0.025);
    base[i] = mouthY - smileK * t * t;
    upperIn[i] = base[i] - ho * 0.25 * bell;
    lowerIn[i] = base[i] + ho * Math.pow(bell, 0.8);
    // Cupid's bow: a small dip at the centre of the upper lip.
    const bow = 1 - 0.3 * Math.exp(-((t / 0.14) ** 2)) + 0.12 * Math.exp(-(((Math.abs(t) - 0.25) / 0.12) ** 2));
    upperOut[i] = upperIn[i] - thU * Math.sqrt(bell) * bow;
    lowerOut[i] = lowerIn[i] + thL * Math.pow(bell, 0.6);
  }
  const mouth = { xs, ts, base, upperIn, lowerIn, upperOut, lowerOut, open: ho };

  const style = Math.round(p.hairStyle);
  const vol = p.hairVolume;
  const tight = style === 0 || style === 5;
  const hair = {
    style,
    capCY: cranCY - 0.005,
    capRX: W + (tight ? 0.007 : 0.014 + 0.035 * vol),
    capRY: cranRY + (tight ? 0.009 : 0.014 + 0.034 * vol),
    templeY: ears[0].cy - ears[0].ry - 0.012,
    len: p.hairLength,
    vol,
    partX: proj(0, 0.0) + (style === 1 ? -0.45 * W : 0),
  };

  const ang = p.lightAngle * 1.1;
  const lx = 0.75 * Math.sin(ang), ly = -0.55 * Math.cos(ang), lz = 0.8;
  const ln = Math.hypot(lx, ly, lz);
  const key = 0.35 + 0.45 * p.lightStrength;
  const light = { x: lx / ln, y: ly / ln, z: lz / ln, key, amb: 1.02 - key * 0.8 };

  return {
    cx, pivotX: cx, pivotY: FRAME_PIVOT_Y, rollRad, zoom: FRAME_ZOOM, yawRad,
    W, cranCY, cranRY, jawCX, jawCY, jawRX, jawRY, eyeY,
    eyes, brows, ears, nose, mouth, hair,
    neck: { hw: 0.085 + 0.025 * p.faceWidth, top: lerp(eyeY, chinY, 0.5) },
    light,
  };
}
