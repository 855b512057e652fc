// Drawing of the inner face features: eyes, brows, nose, mouth. Geometry comes from
// Layout (shared with landmarks.ts); this file only decides looks.
import type { Layout, Eye, Brow } from './layout.js';
import { Raster, RGB } from './raster.js';
import {
  sdEllipse, sdCircle, sdStroke, sdPoly, makePoly, polyBox, ellipseBox, smoothstep, Poly,
} from './sdf.js';
import { ellipsoidLight, litColor } from './shading.js';
import { mix, scale } from './color.js';

/** Almond eye: intersection of the upper and lower lid circles through both corners. */
export function eyeSdf(e: Eye, x: number, y: number): number {
  const ru = (e.a * e.a + e.bU * e.bU) / (2 * e.bU);
  const rl = (e.a * e.a + e.bL * e.bL) / (2 * e.bL);
  const du = sdCircle(x, y, e.cx, e.cy - e.bU + ru, ru);
  const dl = sdCircle(x, y, e.cx, e.cy + e.bL - rl, rl);
  return Math.max(du, dl);
}

/** Points on a lid arc from corner to corner (upper: dir = -1, lower: +1). */
function lidArc(e: Eye, dir: number, n: number): Array<[number, number]> {
  const b = dir < 0 ? e.bU : e.bL;
  const r = (e.a * e.a + b * b) / (2 * b);
  const ccy = e.cy + dir * (b - r);
  const pts: Array<[number, number]> = [];
  for (let k = 0; k <= n; k++) {
    const x = e.cx - e.a + (2 * e.a * k) / n;
    pts.push([x, ccy + dir * Math.sqrt(Math.max(0, r * r - (x - e.cx) ** 2))]);
  }
  return pts;
}

function strokeOf(pts: Array<[number, number]>, radius: (u: number) => number): { poly: Poly; radii: Float64Array } {
  const poly = makePoly(pts);
  const radii = new Float64Array(pts.length);
  for (let i = 0; i < pts.length; i++) radii[i] = radius(i / (pts.length - 1));
  return { poly, radii };
}

export function drawEye(r: Raster, L: Layout, e: Eye, side: number, skin: RGB, iris: RGB, lash: RGB): void {
  const box = ellipseBox(e.cx, e.cy, e.a, Math.max(e.bU, e.bL), 0.004);
  // Socket shading above the eye (soft, no hard edge).
  r.fill(ellipseBox(e.cx, e.cy - e.bU * 0.4, e.a * 1.35, e.bU * 1.5, 0.02),
    (x, y) => sdEllipse(x, y, e.cx, e.cy - e.bU * 0.4, e.a * 1.3, e.bU * 1.45), scale(skin, 0.7), 0.22, 0.02);
  const sclera: RGB = [0.96, 0.95, 0.93];
  const lidTop = e.cy - e.bU;
  r.fill(box, (x, y) => eyeSdf(e, x, y), (x, y, _d, out) => {
    // The upper lid casts a shadow onto the top of the eyeball.
    const k = 0.72 + 0.28 * smoothstep(lidTop, e.cy + e.bL * 0.2, y);
    const l = ellipsoidLight(L, x, y, e.cx, e.cy, e.a * 1.2, e.a);
    litColor(L, sclera, l, out, 0.3);
    out[0] *= k; out[1] *= k; out[2] *= k;
  });
  const irx = e.irisR * e.squash;
  r.fill(ellipseBox(e.irisX, e.irisY, irx, e.irisR), (x, y) => Math.max(sdEllipse(x, y, e.irisX, e.irisY, irx, e.irisR), eyeSdf(e, x, y)),
    (x, y, _d, out) => {
      const dx = (x - e.irisX) / irx;
      const dy = (y - e.irisY) / e.irisR;
      const rr = Math.sqrt(dx * dx + dy * dy);
      // Dark limbal ring, lighter lower half, faint radial fibres.
      const ring = 0.55 + 0.45 * (1 - smoothstep(0.75, 1, rr));
      const lower = 0.85 + 0.3 * smoothstep(-0.6, 0.8, dy);
      const fib = 1 + 0.08 * Math.sin(Math.atan2(dy, dx) * 14);
      const k = ring * lower * fib * (0.8 + 0.2 * smoothstep(lidTop, e.cy, y));
      out[0] = iris[0] * k; out[1] = iris[1] * k; out[2] = iris[2] * k;
    });
  r.fill(ellipseBox(e.irisX, e.irisY, e.pupilR * e.squash, e.pupilR),
    (x, y) => Math.max(sdEllipse(x, y, e.irisX, e.irisY, e.pupilR * e.squash, e.pupilR), eyeSdf(e, x, y)), [0.03, 0.025, 0.03]);
  // Catchlight toward the light, kept off the pupil centre so the landmark stays dark.
  const hx = e.irisX + L.light.x * e.irisR * 0.55;
  const hy = e.irisY + L.light.y * e.irisR * 0.55;
  const hr = e.irisR * 0.2;
  r.fill(ellipseBox(hx, hy, hr, hr), (x, y) => Math.max(sdCircle(x, y, hx, hy, hr), eyeSdf(e, x, y)), [1, 1, 1], 0.9);
  // Upper lid line: thicker toward the outer corner, with a small flick.
  const upper = lidArc(e, -1, 10);
  const outerFirst = side < 0;
  if (outerFirst) upper.unshift([upper[0][0] - e.a * 0.18, upper[0][1] - e.bU * 0.3]);
  else upper.push([upper[upper.length - 1][0] + e.a * 0.18, upper[upper.length - 1][1] - e.bU * 0.3]);
  const w = 0.0022 + e.a * 0.06;
  const up = strokeOf(upper, (u) => w * (0.6 + 0.9 * (outerFirst ? 1 - u : u)) * (u < 0.05 || u > 0.95 ? 0.5 : 1));
  r.fill(polyBox(up.poly, 0.01), (x, y) => sdStroke(x, y, up.poly, up.radii), lash, 0.95);
  // Lid crease above and a faint lower lid.
  const crease = lidArc(e, -1, 8).map(([x, y]) => [x, y - e.bU * 0.55 - 0.006] as [number, number]);
  const cr = strokeOf(crease, (u) => 0.0016 * Math.sin(Math.PI * u) + 0.0003);
  r.fill(polyBox(cr.poly, 0.005), (x, y) => sdStroke(x, y, cr.poly, cr.radii), scale(skin, 0.6), 0.3);
  const lower = strokeOf(lidArc(e, 1, 8), (u) => 0.0016 * Math.sin(Math.PI * u) + 0.0003);
  r.fill(polyBox(lower.poly, 0.005), (x, y) => sdStroke(x, y, lower.poly, lower.radii), scale(skin, 0.5), 0.4);
}

export function drawBrow(r: Raster, b: Brow, color: RGB): void {
  const pts: Array<[number, number]> = [];
  const n = 8;
  for (let k = 0; k <= n; k++) {
    const t = k / n; // quadratic Bezier inner -> outer with the arch as control point
    const u = 1 - t;
    const cx = 2 * b.xm - 0.5 * (b.xi + b.xo);
    const cy = 2 * b.ym - 0.5 * (b.yi + b.yo);
    pts.push([u * u * b.xi + 2 * u * t * cx + t * t * b.xo, u * u * b.yi + 2 * u * t * cy + t * t * b.yo]);
  }
  const s = strokeOf(pts, (t) => b.r * (1.05 - 0.55 * t * t));
  r.fill(polyBox(s.poly, b.r + 0.01), (x, y) => sdStroke(x, y, s.poly, s.radii), color, 0.92);
}

export function drawNose(r: Raster, L: Layout, skin: RGB): void {
  const { tipX, tipY, w, bridgeX, len } = L.nose;
  const away = L.light.x > 0 ? -1 : 1; // side of the nose facing away from the light
  const dark = scale(skin, 0.62);
  // Bridge side shadow and the cast shadow under the tip.
  const sx = (bridgeX + tipX) / 2 + away * w * 0.55;
  const sy = L.eyeY + len * 0.55;
  r.fill(ellipseBox(sx, sy, w * 0.4, len * 0.5, 0.02), (x, y) => sdEllipse(x, y, sx, sy, w * 0.3, len * 0.45), dark, 0.3, 0.016);
  const ux = tipX - L.light.x * 0.012;
  const uy = tipY + w * 0.55 + 0.006;
  r.fill(ellipseBox(ux, uy, w * 1.2, 0.014, 0.015), (x, y) => sdEllipse(x, y, ux, uy, w * 1.05, 0.009), dark, 0.4, 0.012);
  // Wings (alae) then the tip ball, both lit as little ellipsoids.
  const wing = scale(skin, 0.93), tip = scale(skin, 1.02); // hoisted: no per-pixel allocation
  for (const s of [-1, 1]) {
    const ax = tipX + s * w * 0.72;
    const ay = tipY + w * 0.12;
    const rx = w * 0.42, ry = w * 0.36;
    r.fill(ellipseBox(ax, ay, rx, ry), (x, y) => sdEllipse(x, y, ax, ay, rx, ry), (x, y, d, out) => {
      litColor(L, wing, ellipsoidLight(L, x, y, ax, ay, rx, ry), out);
      const e = 0.85 + 0.15 * smoothstep(0, 0.006, -d);
      out[0] *= e; out[1] *= e; out[2] *= e;
    }, 0.9);
  }
  const rx = w * 0.6, ry = w * 0.52;
  r.fill(ellipseBox(tipX, tipY, rx, ry, 0.005), (x, y) => sdEllipse(x, y, tipX, tipY, rx, ry), (x, y, _d, out) => {
    litColor(L, tip, ellipsoidLight(L, x, y, tipX, tipY, rx, ry), out);
  }, 1, 0.004);
  for (const s of [-1, 1]) {
    const nx = tipX + s * w * 0.42;
    const ny = tipY + w * 0.42;
    r.fill(ellipseBox(nx, ny, w * 0.25, w * 0.16), (x, y) => sdEllipse(x, y, nx, ny, w * 0.22, w * 0.13), scale(skin, 0.35), 0.85);
  }
  const hx = tipX + L.light.x * rx * 0.4, hy = tipY + L.light.y * ry * 0.4;
  r.fill(ellipseBox(hx, hy, rx * 0.5, ry * 0.5, 0.006), (x, y) => sdCircle(x, y, hx, hy, rx * 0.22), [1, 0.97, 0.94], 0.35, 0.006);
}

function curvePoly(xs: Float64Array, top: Float64Array, bottom: Float64Array): Poly {
  const pts: Array<[number, number]> = [];
  for (let i = 0; i < xs.length; i++) pts.push([xs[i], top[i]]);
  for (let i = xs.length - 2; i >= 1; i--) pts.push([xs[i], bottom[i]]);
  return makePoly(pts);
}

export function drawMouth(r: Raster, L: Layout, skin: RGB, lip: RGB): void {
  const m = L.mouth;
  const c = (m.xs.length - 1) >> 1;
  const mx = m.xs[c];
  // Soft shadow under the lower lip.
  const sy = m.lowerOut[c] + 0.012;
  const hw = (m.xs[m.xs.length - 1] - m.xs[0]) / 2;
  r.fill(ellipseBox(mx, sy, hw * 0.6, 0.012, 0.012), (x, y) => sdEllipse(x, y, mx, sy, hw * 0.45, 0.006), scale(skin, 0.6), 0.35, 0.012);
  const lips = curvePoly(m.xs, m.upperOut, m.lowerOut);
  const lipBox = polyBox(lips, 0.004);
  const lipMid = (m.upperOut[c] + m.lowerOut[c]) / 2;
  const lipRY = (m.lowerOut[c] - m.upperOut[c]) / 2 + 0.01;
  r.fill(lipBox, (x, y) => sdPoly(x, y, lips), (x, y, d, out) => {
    litColor(L, lip, ellipsoidLight(L, x, y, mx, lipMid, hw * 1.1, lipRY), out);
    const e = 0.88 + 0.12 * smoothstep(0, 0.004, -d);
    out[0] *= e; out[1] *= e; out[2] *= e;
  });
  // Upper lip faces down: darker.
  const upper = curvePoly(m.xs, m.upperOut, m.upperIn);
  r.fill(polyBox(upper, 0.004), (x, y) => sdPoly(x, y, upper), scale(lip, 0.8), 0.55);
  if (m.open > 0.004) {
    const hole = curvePoly(m.xs, m.upperIn, m.lowerIn);
    const hb = polyBox(hole, 0.004);
    r.fill(hb, (x, y) => sdPoly(x, y, hole), [0.22, 0.06, 0.07]);
    const teethY = m.upperIn[c] + m.open * 0.42;
    r.fill(hb, (x, y) => Math.max(sdPoly(x, y, hole), y - teethY), (x, _y, _d, out) => {
      const k = 0.95 - 0.35 * Math.min(1, (Math.abs(x - mx) / hw) ** 2);
      out[0] = 0.97 * k; out[1] = 0.95 * k; out[2] = 0.9 * k;
    });
    const ty = m.lowerIn[c];
    r.fill(hb, (x, y) => Math.max(sdPoly(x, y, hole), sdEllipse(x, y, mx, ty, hw * 0.5, m.open * 0.45)), [0.7, 0.3, 0.32], 0.9);
  }
  // Mouth line (the gap between closed lips, and the shadowed inner edge when open).
  const line = strokeOf(Array.from(m.xs, (x, i) => [x, m.upperIn[i]] as [number, number]),
    (u) => 0.0012 + 0.0022 * Math.sin(Math.PI * u) ** 0.5);
  r.fill(polyBox(line.poly, 0.006), (x, y) => sdStroke(x, y, line.poly, line.radii), mix(lip, [0.15, 0.04, 0.05], 0.7), 0.85);
  // Highlight on the lower lip toward the light.
  const hx = mx + L.light.x * hw * 0.3;
  const hy = (m.lowerIn[c] + m.lowerOut[c]) / 2;
  r.fill(ellipseBox(hx, hy, hw * 0.4, 0.008, 0.006), (x, y) => sdEllipse(x, y, hx, hy, hw * 0.22, 0.003), [1, 0.95, 0.95], 0.25, 0.005);
}
