// Paints a whole portrait from a Layout, back to front: background, back hair, neck and
// shirt, ears, head, inner features, front hair, glasses. Everything on the head is
// drawn in the rolled face frame (Raster.setRotation) so roll tilts all parts together.
import type { FaceParams } from './params.js';
import { Layout, headSdf, computeLayout } from './layout.js';
import { Raster, RGB } from './raster.js';
import { sdEllipse, sdRoundBox, sdSegment, ellipseBox, smoothstep, clamp01, lerp } from './sdf.js';
import { ellipsoidLight, litColor, ellipsoidSpec } from './shading.js';
import { paletteAt, SKIN, HAIR, IRIS, hsl, mix, scale } from './color.js';
import { makeCapSdf, capBox, backSdf, backBox, hasBack, hairlineTop } from './hair.js';
import { drawEye, drawBrow, drawNose, drawMouth } from './features.js';

interface Colors { skin: RGB; hair: RGB; iris: RGB; lip: RGB; brow: RGB; lash: RGB; shirt: RGB; bgA: RGB; bgB: RGB; frame: RGB }

function colors(p: FaceParams): Colors {
  const skin = paletteAt(SKIN, p.skinTone);
  const hair = paletteAt(HAIR, p.hairColor);
  const lum = 0.3 * hair[0] + 0.6 * hair[1] + 0.1 * hair[2];
  return {
    skin, hair, iris: paletteAt(IRIS, p.irisColor),
    lip: scale(mix(skin, [0.8, 0.32, 0.36], 0.45), 0.9),
    // Light hair still gets visibly darker brows and lashes.
    brow: scale(hair, lum > 0.5 ? 0.6 : 0.85),
    lash: scale(mix(hair, [0.05, 0.04, 0.04], 0.7), 1),
    shirt: hsl(p.shirtHue, 0.45, 0.42),
    bgA: hsl(p.bgHue, 0.35, 0.74),
    bgB: hsl((p.bgHue + 0.1) % 1, 0.42, 0.5),
    frame: hsl((p.shirtHue + 0.5) % 1, 0.35, 0.18),
  };
}

function drawBackground(r: Raster, p: FaceParams, C: Colors): void {
  const gx = Math.cos(p.bgAngle), gy = Math.sin(p.bgAngle);
  const g = p.bgGradient;
  // Soft glow behind the head, like a studio backdrop light; the Gaussian is separable,
  // so it is tabulated per column and per row instead of one exp per pixel.
  const n = r.n;
  const gxTab = new Float64Array(n), gyTab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = (i + 0.5) / n;
    gxTab[i] = 0.07 * Math.exp(-((u - 0.5) ** 2) * 6);
    gyTab[i] = Math.exp(-((u - 0.4) ** 2) * 6);
  }
  r.paintAll((x, y, _d, out) => {
    const t = clamp01(0.5 + ((x - 0.5) * gx + (y - 0.5) * gy) * 1.2) * g;
    const glow = gxTab[(x * n) | 0] * gyTab[(y * n) | 0];
    out[0] = lerp(C.bgA[0], C.bgB[0], t) + glow;
    out[1] = lerp(C.bgA[1], C.bgB[1], t) + glow;
    out[2] = lerp(C.bgA[2], C.bgB[2], t) + glow;
  });
}

/** Curly texture: a staggered grid of little lit domes (each one a curl). */
function curls(x: number, y: number): number {
  // Domain-warped so the cells read as irregular coils rather than a mesh.
  const K = 55;
  const gy = y * K + 0.6 * Math.sin(x * 31);
  const row = Math.floor(gy);
  const gx = x * K + (row & 1) * 0.5 + 0.6 * Math.sin(y * 37);
  const u = gx - Math.floor(gx) - 0.5, v = gy - row - 0.5;
  return 1.08 - 0.7 * (u * u + v * v) + 0.12 * (u - v);
}

function hairPaint(L: Layout, C: Colors, cx: number, cy: number, rx: number, ry: number) {
  const crownX = L.hair.partX, crownY = L.hair.capCY - L.hair.capRY * 0.7;
  const curly = L.hair.style === 4;
  return (x: number, y: number, d: number, out: Float32Array): void => {
    const l = ellipsoidLight(L, x, y, cx, cy, rx, ry);
    litColor(L, C.hair, l, out, 0);
    // Strands radiate from the crown; curls get a blobby texture instead.
    const tex = curly
      ? curls(x, y)
      // Strands fan out from above the crown: slope (dx/dy) is a cheap stand-in for atan2.
      : 1 + 0.09 * Math.sin(((x - crownX) / (y - crownY + 0.12)) * 22 + 3 * Math.sin(y * 25));
    const spec = 0.22 * ellipsoidSpec(L, x, y, cx, cy, rx, ry);
    const edge = 0.8 + 0.2 * smoothstep(0, 0.01, -d);
    const k = tex * edge;
    out[0] = out[0] * k + spec; out[1] = out[1] * k + spec; out[2] = out[2] * k + spec * 0.9;
  };
}

function drawBody(r: Raster, L: Layout, C: Colors): void {
  const { hw, top } = L.neck;
  // Neck in the head frame (it follows roll), then the jaw's soft shadow on it.
  r.setTransform(L.rollRad, L.zoom, L.pivotX, L.pivotY);
  const neckSdf = (x: number, y: number) => sdRoundBox(x, y, L.cx, (top + 1.2) / 2, hw, (1.2 - top) / 2, 0.02);
  const neckBox = { x0: L.cx - hw, y0: top, x1: L.cx + hw, y1: 1.2 };
  const neckSkin = scale(C.skin, 0.9);
  r.fill(neckBox, neckSdf, (x, _y, _d, out) => {
    litColor(L, neckSkin, ellipsoidLight(L, x, 0.5, L.cx, 0.5, hw, 1), out);
  });
  r.fill(neckBox, (x, y) => Math.max(headSdf(L, x - L.light.x * 0.01, y - 0.035), neckSdf(x, y)),
    scale(C.skin, 0.45), 0.55, 0.025);
  r.resetTransform();
  // Shirt in image space: shoulders stay put when the head rolls.
  const nhw = hw * L.zoom + 0.015;
  const shirt = (x: number, y: number) =>
    Math.max(sdRoundBox(x, y, 0.5, 1.16, 0.44, 0.22, 0.16), -sdEllipse(x, y, 0.5, 0.935, nhw, 0.04));
  r.fill({ x0: 0, y0: 0.92, x1: 1, y1: 1 }, shirt, (x, y, d, out) => {
    litColor(L, C.shirt, ellipsoidLight(L, x, y, 0.5, 1.16, 0.46, 0.26), out, 0);
    const e = 0.8 + 0.2 * smoothstep(0, 0.012, -d);
    out[0] *= e; out[1] *= e; out[2] *= e;
  });
}

function drawHeadAndEars(r: Raster, L: Layout, C: Colors): void {
  for (const e of L.ears) {
    r.fill(ellipseBox(e.cx, e.cy, e.rx, e.ry), (x, y) => sdEllipse(x, y, e.cx, e.cy, e.rx, e.ry), (x, y, _d, out) => {
      litColor(L, C.skin, ellipsoidLight(L, x, y, e.cx, e.cy, e.rx, e.ry), out);
    });
    // Inner ear: the bowl is offset toward the head and darker.
    const ix = e.cx + (e.cx < L.cx ? 0.25 : -0.25) * e.rx;
    r.fill(ellipseBox(ix, e.cy + 0.004, e.rx, e.ry, 0.01), (x, y) => sdEllipse(x, y, ix, e.cy + 0.004, e.rx * 0.5, e.ry * 0.66),
      scale(C.skin, 0.62), 0.6, 0.007);
  }
  const top = L.cranCY - L.cranRY, bottom = L.jawCY + L.jawRY;
  const hcy = (top + bottom) / 2, hry = (bottom - top) / 2;
  const hcx = L.cx + 0.25 * L.W * Math.sin(L.yawRad);
  r.fill({ x0: L.cx - L.W - 0.01, y0: top - 0.01, x1: L.cx + L.W + 0.01, y1: bottom + 0.01 }, (x, y) => headSdf(L, x, y),
    (x, y, d, out) => {
      litColor(L, C.skin, ellipsoidLight(L, x, y, hcx, hcy, L.W * 1.05, hry * 1.05), out);
      const ao = 0.84 + 0.16 * smoothstep(0, 0.03, -d); // darker rim: the face turning away
      out[0] *= ao; out[1] *= ao; out[2] *= ao;
    });
  // Blush on the cheeks.
  for (const e of L.eyes) {
    const bx = e.cx + (e.cx < L.nose.tipX ? -0.01 : 0.01), by = L.eyeY + 0.085;
    r.fill(ellipseBox(bx, by, 0.05, 0.04, 0.02), (x, y) => sdEllipse(x, y, bx, by, 0.03, 0.02), [0.9, 0.45, 0.45], 0.12, 0.025);
  }
}

function drawFrontHair(r: Raster, L: Layout, C: Colors): void {
  const h = L.hair;
  const box = capBox(L);
  const cap = makeCapSdf(L);
  // Hair shadow on the forehead, clipped to the face; only the band below the hairline
  // can receive it, so the box starts there (this fill is one of the largest).
  const ox = -L.light.x * 0.012, oy = 0.016;
  r.fill({ x0: box.x0, y0: hairlineTop(L) - 0.01, x1: box.x1, y1: box.y1 + oy + 0.02 },
    (x, y) => Math.max(cap(x - ox, y - oy), headSdf(L, x, y)), scale(C.skin, 0.45), 0.45, 0.02);
  const alpha = h.style === 0 ? 0.9 : 1;
  r.fill(box, cap, hairPaint(L, C, L.cx, h.capCY, h.capRX, h.capRY), alpha);
}

function drawGlasses(r: Raster, L: Layout, p: FaceParams, C: Colors): void {
  const t = 0.0032 + 0.0025 * p.glassesShape;
  const rims = L.eyes.map((e) => {
    const hx = e.a * 1.32 + 0.006, hy = 0.038 + 0.01 * p.glassesShape;
    const rad = lerp(Math.min(hx, hy) * 0.98, 0.01, p.glassesShape);
    return { cx: e.cx, cy: e.cy + 0.006, hx, hy, rad };
  });
  for (const g of rims) {
    const bx = { x0: g.cx - g.hx - t, y0: g.cy - g.hy - t, x1: g.cx + g.hx + t, y1: g.cy + g.hy + t };
    r.fill(bx, (x, y) => sdRoundBox(x, y, g.cx, g.cy, g.hx, g.hy, g.rad), (x, y, _d, out) => {
      // Lens: faint tint plus a diagonal reflection streak.
      const s = Math.abs(((x - g.cx) + (y - g.cy)) * 18 + 0.3) < 0.25 ? 1 : 0;
      out[0] = 0.8 + 0.2 * s; out[1] = 0.88 + 0.12 * s; out[2] = 0.95 + 0.05 * s;
    }, 0.16);
    r.fill(bx, (x, y) => Math.abs(sdRoundBox(x, y, g.cx, g.cy, g.hx, g.hy, g.rad)) - t, C.frame);
  }
  const [a, b] = rims;
  // Bridge: upper half of a flat ellipse between the inner rim edges.
  const ax = a.cx + a.hx, bx = b.cx - b.hx, by = a.cy - a.hy * 0.2, mx = (ax + bx) / 2, hw = (bx - ax) / 2 + t;
  r.fill({ x0: ax - 0.01, y0: by - 0.02, x1: bx + 0.01, y1: by + 0.01 },
    (x, y) => Math.max(Math.abs(sdEllipse(x, y, mx, by, hw, 0.012)) - t * 0.8, y - by), C.frame);
  // Arms run from the outer rim edge back to the ears.
  for (let k = 0; k < 2; k++) {
    const g = rims[k], e = L.ears[k];
    const sx = k === 0 ? g.cx - g.hx : g.cx + g.hx, sy = g.cy - g.hy * 0.5;
    const ex = e.cx, ey = e.cy - e.ry * 0.35;
    r.fill({ x0: Math.min(sx, ex) - 0.01, y0: Math.min(sy, ey) - 0.01, x1: Math.max(sx, ex) + 0.01, y1: Math.max(sy, ey) + 0.01 },
      (x, yy) => sdSegment(x, yy, sx, sy, ex, ey) - t * 0.8, C.frame);
  }
}

// One float canvas per resolution, reused: allocating ~0.8 MB per face was a
// measurable share of the time in GC. Safe because rendering is synchronous and
// drawBackground overwrites every pixel first.
const rasters = new Map<number, Raster>();
function rasterFor(n: number): Raster {
  let r = rasters.get(n);
  if (!r) rasters.set(n, (r = new Raster(n)));
  r.resetTransform();
  return r;
}

/** Render at size*ss then box-filter to size. Pure: same params -> same bytes. */
export function paintFace(p: FaceParams, size: number, ss: number): { rgb: Uint8Array; layout: Layout } {
  const L = computeLayout(p);
  const C = colors(p);
  const r = rasterFor(size * ss);
  drawBackground(r, p, C);
  r.setTransform(L.rollRad, L.zoom, L.pivotX, L.pivotY);
  if (hasBack(L)) {
    const bb = backBox(L);
    const paint = hairPaint(L, C, L.cx, (bb.y0 + bb.y1) / 2, (bb.x1 - bb.x0) / 2, (bb.y1 - bb.y0) / 2);
    r.fill(bb, (x, y) => backSdf(L, x, y), (x, y, d, out) => {
      paint(x, y, d, out);
      const k = 0.8; // back hair is further from the light / in the head's shadow
      out[0] *= k; out[1] *= k; out[2] *= k;
    });
  }
  drawBody(r, L, C);
  r.setTransform(L.rollRad, L.zoom, L.pivotX, L.pivotY);
  drawHeadAndEars(r, L, C);
  drawNose(r, L, C.skin);
  drawMouth(r, L, C.skin, C.lip);
  L.eyes.forEach((e, k) => drawEye(r, L, e, k === 0 ? -1 : 1, C.skin, C.iris, C.lash));
  for (const b of L.brows) drawBrow(r, b, C.brow);
  drawFrontHair(r, L, C);
  if (p.glasses >= 0.5) drawGlasses(r, L, p, C);
  r.resetTransform();
  return { rgb: r.downsample(ss), layout: L };
}
