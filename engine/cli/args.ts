/** Parsing of the CLI's value formats: seed ranges and point lists. */
import type { PointPair } from '../src/drag/types.js';

/** "0-15", "3", "1,4,9-11" -> seeds. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`bad seed list '${text}': expected e.g. 0-15 or 1,4,9-11`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 10000) throw new Error(`bad seed range '${part}'`);
    for (let s = a; s <= b; s++) seeds.push(s);
  }
  return seeds;
}

/** "x,y->x,y;x,y->x,y" -> handle/target pairs. */
export function parsePoints(text: string): PointPair[] {
  return text
    .split(';')
    .filter((s) => s.trim())
    .map((part) => {
      const m = /^\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*->\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*$/.exec(part);
      if (!m) throw new Error(`bad point pair '${part}': expected x,y->x,y`);
      const [hx, hy, tx, ty] = m.slice(1).map(Number);
      return { handle: [hx, hy], target: [tx, ty] } as PointPair;
    });
}
