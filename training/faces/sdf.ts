// Signed-distance primitives (negative inside), in normalised image units (0..1).
// Coverage is derived from the distance in raster.ts, which is what gives every shape
// an anti-aliased edge without any per-shape AA code.

export function sdCircle(x: number, y: number, cx: number, cy: number, r: number): number {
  const dx = x - cx;
  const dy = y - cy;
  return Math.sqrt(dx * dx + dy * dy) - r;
}

/**
 * Axis-aligned ellipse. Uses the k0*(k0-1)/k1 approximation (Quilez): exact on the
 * boundary and a good distance estimate within a few pixels of it, which is all the
 * anti-aliasing needs, at a fraction of the cost of the exact quartic solve.
 */
export function sdEllipse(x: number, y: number, cx: number, cy: number, rx: number, ry: number): number {
  const px = x - cx;
  const py = y - cy;
  // Math.hypot is several times slower than sqrt in V8; these run per pixel.
  const ax = px / rx, ay = py / ry;
  const bx = ax / rx, by = ay / ry;
  const k0 = Math.sqrt(ax * ax + ay * ay);
  const k1 = Math.sqrt(bx * bx + by * by);
  if (k1 < 1e-12) return -Math.min(rx, ry);
  return (k0 * (k0 - 1)) / k1;
}

/** Distance to segment a-b (a capsule of radius r when r is subtracted). */
export function sdSegment(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const px = x - ax;
  const py = y - ay;
  const ex = bx - ax;
  const ey = by - ay;
  const ee = ex * ex + ey * ey;
  const h = ee > 0 ? Math.min(1, Math.max(0, (px * ex + py * ey) / ee)) : 0;
  const dx = px - ex * h;
  const dy = py - ey * h;
  return Math.sqrt(dx * dx + dy * dy);
}

/** Rounded rectangle centred at (cx, cy), half sizes hx, hy, corner radius rad. */
export function sdRoundBox(
  x: number, y: number, cx: number, cy: number, hx: number, hy: number, rad: number,
): number {
  const qx = Math.abs(x - cx) - hx + rad;
  const qy = Math.abs(y - cy) - hy + rad;
  const mx = Math.max(qx, 0);
  const my = Math.max(qy, 0);
  return Math.sqrt(mx * mx + my * my) + Math.min(Math.max(qx, qy), 0) - rad;
}

/** Polynomial smooth minimum: unions shapes with a fillet of size k (skull + jaw). */
export function smin(a: number, b: number, k: number): number {
  const h = Math.max(k - Math.abs(a - b), 0) / k;
  return Math.min(a, b) - h * h * k * 0.25;
}

/** A closed polygon, stored flat so the hot loop touches no objects. */
export interface Poly {
  xs: Float64Array;
  ys: Float64Array;
}

export function makePoly(pts: ReadonlyArray<readonly [number, number]>): Poly {
  const xs = new Float64Array(pts.length);
  const ys = new Float64Array(pts.length);
  pts.forEach(([x, y], i) => {
    xs[i] = x;
    ys[i] = y;
  });
  return { xs, ys };
}

/** Exact signed distance to a simple polygon (winding-parity sign, Quilez). */
export function sdPoly(x: number, y: number, poly: Poly): number {
  const { xs, ys } = poly;
  const n = xs.length;
  let d = (x - xs[0]) ** 2 + (y - ys[0]) ** 2;
  let s = 1;
  for (let i = 0, j = n - 1; i < n; j = i, i++) {
    const ex = xs[j] - xs[i];
    const ey = ys[j] - ys[i];
    const wx = x - xs[i];
    const wy = y - ys[i];
    const h = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey || 1)));
    const bx = wx - ex * h;
    const by = wy - ey * h;
    d = Math.min(d, bx * bx + by * by);
    const c1 = y >= ys[i];
    const c2 = y < ys[j];
    const c3 = ex * wy > ey * wx;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
  }
  return s * Math.sqrt(d);
}

/**
 * Tapered stroke along an open polyline: union of capsules whose radius is
 * interpolated per vertex (brows, lid lines, glasses arms).
 */
export function sdStroke(x: number, y: number, poly: Poly, radii: Float64Array): number {
  const { xs, ys } = poly;
  let best = Infinity;
  for (let i = 0; i + 1 < xs.length; i++) {
    const ax = xs[i];
    const ay = ys[i];
    const ex = xs[i + 1] - ax;
    const ey = ys[i + 1] - ay;
    const px = x - ax;
    const py = y - ay;
    const ee = ex * ex + ey * ey;
    const h = ee > 0 ? Math.min(1, Math.max(0, (px * ex + py * ey) / ee)) : 0;
    const dx = px - ex * h;
    const dy = py - ey * h;
    const d = Math.sqrt(dx * dx + dy * dy) - (radii[i] + (radii[i + 1] - radii[i]) * h);
    if (d < best) best = d;
  }
  return best;
}

/** Bounding box of a polygon, grown by m. */
export function polyBox(poly: Poly, m: number): Box {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < poly.xs.length; i++) {
    x0 = Math.min(x0, poly.xs[i]);
    x1 = Math.max(x1, poly.xs[i]);
    y0 = Math.min(y0, poly.ys[i]);
    y1 = Math.max(y1, poly.ys[i]);
  }
  return { x0: x0 - m, y0: y0 - m, x1: x1 + m, y1: y1 + m };
}

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function ellipseBox(cx: number, cy: number, rx: number, ry: number, m = 0): Box {
  return { x0: cx - rx - m, y0: cy - ry - m, x1: cx + rx + m, y1: cy + ry + m };
}

export function clamp01(t: number): number {
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

export function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}

export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}
