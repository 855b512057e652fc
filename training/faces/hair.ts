// Hair shapes: a "cap" in front of the forehead (clipped by a style-specific hairline)
// and an optional mass behind the head (bob, long, curls, bun). SDFs are exported so
// landmarks.ts can find hair_top on the exact silhouette that gets drawn.
import type { Layout } from './layout.js';
import { sdEllipse, sdRoundBox, sdCircle, smin, Box, ellipseBox, clamp01 } from './sdf.js';

/** y of the hairline at x: hair of the cap exists only above it. */
function hairline(L: Layout, x: number): number {
  const h = L.hair;
  const dx = x - L.nose.bridgeX; // follows the face centre under yaw
  let f: number;
  switch (h.style) {
    case 0: f = L.eyeY - 0.18 + 0.02 * h.len; break; // buzz: high, even
    case 1: // side part, fringe swept toward the far side of the part
      f = L.eyeY - 0.165 + 0.075 * h.len * clamp01((x - h.partX) / (1.2 * L.W)) + 0.004 * Math.sin(x * 90);
      break;
    case 2: f = L.eyeY - 0.075 - 0.03 * (1 - h.len) + 0.004 * Math.sin(x * 110); break; // straight bangs
    case 3: f = L.eyeY - 0.17 + 0.55 * Math.abs(dx) * (0.5 + 0.5 * h.len); break; // centre part, curtains
    case 4: f = L.eyeY - 0.15 + 0.03 * h.len + 0.01 * Math.sin(x * 75); break; // curly fringe
    default: f = L.eyeY - 0.185; break; // bun: pulled back
  }
  const side = clamp01(Math.abs(dx) / L.W) ** 4;
  return Math.min(h.templeY, f + (h.templeY - f) * side);
}

/**
 * The cap SDF for a layout. The hairline depends on x only, so it is tabulated once
 * (linear interpolation, ~0.2 output px spacing) instead of evaluated per pixel.
 */
export function makeCapSdf(L: Layout): (x: number, y: number) => number {
  const h = L.hair;
  const x0 = L.cx - h.capRX - 0.05;
  const span = 2 * (h.capRX + 0.05);
  const N = 512;
  const tab = new Float64Array(N + 1);
  for (let i = 0; i <= N; i++) tab[i] = hairline(L, x0 + (span * i) / N);
  const curly = h.style === 4;
  return (x, y) => {
    let d = sdEllipse(x, y, L.cx, h.capCY, h.capRX, h.capRY);
    if (curly) d += 0.006 * Math.sin(Math.atan2(y - h.capCY, x - L.cx) * 22);
    let f = ((x - x0) / span) * N;
    f = f < 0 ? 0 : f > N - 1e-9 ? N - 1e-9 : f;
    const i = f | 0;
    const line = tab[i] + (tab[i + 1] - tab[i]) * (f - i);
    return Math.max(d, y - line);
  };
}

/** Highest point of the hairline (where the cap's lower edge is closest to the crown). */
export function hairlineTop(L: Layout): number {
  let top = Infinity;
  for (let i = 0; i <= 64; i++) top = Math.min(top, hairline(L, L.cx - L.hair.capRX + (2 * L.hair.capRX * i) / 64));
  return top;
}

export function capBox(L: Layout): Box {
  const h = L.hair;
  return { x0: L.cx - h.capRX - 0.01, y0: h.capCY - h.capRY - 0.01, x1: L.cx + h.capRX + 0.01, y1: h.templeY + 0.01 };
}

/** Bottom of the back-hair mass for bob / long styles. */
function backBottom(L: Layout): number {
  return L.hair.style === 2 ? L.jawCY + 0.05 + 0.12 * L.hair.len : 0.8 + 0.25 * L.hair.len;
}

export function hasBack(L: Layout): boolean {
  return L.hair.style >= 2;
}

export function backSdf(L: Layout, x: number, y: number): number {
  const h = L.hair;
  const top = sdEllipse(x, y, L.cx, h.capCY, h.capRX + 0.012, h.capRY + 0.008);
  switch (h.style) {
    case 2:
    case 3: {
      const bottom = backBottom(L);
      const hw = h.capRX + (h.style === 2 ? 0.014 : 0.02 + 0.035 * h.vol);
      const body = sdRoundBox(x, y, L.cx, (h.capCY + bottom) / 2, hw, (bottom - h.capCY) / 2, 0.06);
      return smin(top, body, 0.04);
    }
    case 4: {
      const cy = h.capCY + 0.035 + 0.05 * h.len;
      const d = sdEllipse(x, y, L.cx, cy, h.capRX + 0.05 + 0.05 * h.vol, h.capRY + 0.035 + 0.05 * h.len);
      return d + 0.012 * Math.sin(Math.atan2(y - cy, x - L.cx) * 13);
    }
    case 5:
      return Math.min(top + 0.004, sdCircle(x, y, L.cx, bunY(L), bunR(L)));
    default:
      return 1;
  }
}

export function backBox(L: Layout): Box {
  const h = L.hair;
  switch (h.style) {
    case 2:
    case 3:
      return { x0: L.cx - h.capRX - 0.07, y0: h.capCY - h.capRY - 0.02, x1: L.cx + h.capRX + 0.07, y1: backBottom(L) + 0.01 };
    case 4: {
      const cy = h.capCY + 0.035 + 0.05 * h.len;
      return ellipseBox(L.cx, cy, h.capRX + 0.05 + 0.05 * h.vol, h.capRY + 0.035 + 0.05 * h.len, 0.015);
    }
    default: {
      const r = bunR(L);
      return { x0: L.cx - h.capRX - 0.02, y0: bunY(L) - r - 0.01, x1: L.cx + h.capRX + 0.02, y1: h.capCY + h.capRY + 0.02 };
    }
  }
}

/** Union of everything hair that is drawn (for hair_top). */
export function makeHairSdf(L: Layout): (x: number, y: number) => number {
  const cap = makeCapSdf(L);
  const back = hasBack(L);
  return (x, y) => Math.min(cap(x, y), back ? backSdf(L, x, y) : 1);
}

/** Bun radius and centre: half sunk into the cap so the bun always stays in frame. */
function bunR(L: Layout): number {
  return 0.04 + 0.015 * L.hair.vol;
}
function bunY(L: Layout): number {
  return L.hair.capCY - L.hair.capRY + 0.005;
}
