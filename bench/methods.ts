/**
 * The drag methods the benchmark compares (named option presets) and sweeps of StableDrag's constants.
 *
 * A sweep spec is `key=v1,v2,...` clauses joined by ';', keys being dotted drag-option paths
 * (tracker.alpha, tracker.ridge, tracker.labelSigma, tracker.fitRadius, enhancement.threshold, lr, r1, r2,
 * lambda, ...). 'oat' (one at a time) varies one key while the others keep the base method's values;
 * 'grid' takes the Cartesian product.
 */
import type { DragOptionsInput } from '../engine/src/index.js';

export interface MethodSpec {
  name: string;
  options: DragOptionsInput;
}

export const METHODS: Record<string, DragOptionsInput> = {
  draggan: { method: 'draggan' },
  stabledrag: { method: 'stabledrag' },
  'tracker-only': { method: 'stabledrag', enhancement: { enabled: false } },
  'enhancement-only': { method: 'draggan', enhancement: { enabled: true } },
};

export const DEFAULT_METHODS = Object.keys(METHODS);

export function methodSpecs(list: string[]): MethodSpec[] {
  return list.map((name) => {
    const options = METHODS[name];
    if (!options) throw new Error(`unknown method '${name}'; known: ${DEFAULT_METHODS.join(', ')}`);
    return { name, options: structuredClone(options) };
  });
}

/** Sets a dotted path in a fresh copy of the options. */
export function withOption(base: DragOptionsInput, key: string, value: number | boolean | string): DragOptionsInput {
  const out = structuredClone(base) as Record<string, unknown>;
  const parts = key.split('.');
  let node = out;
  for (const p of parts.slice(0, -1)) {
    node[p] = { ...((node[p] as Record<string, unknown>) ?? {}) };
    node = node[p] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
  return out as DragOptionsInput;
}

function parseValue(s: string): number | boolean | string {
  if (s === 'true' || s === 'false') return s === 'true';
  const n = Number(s);
  return Number.isFinite(n) && s.trim() !== '' ? n : s;
}

export function parseSweep(spec: string): Array<{ key: string; values: Array<number | boolean | string> }> {
  return spec
    .split(';')
    .map((c) => c.trim())
    .filter(Boolean)
    .map((clause) => {
      const eq = clause.indexOf('=');
      if (eq <= 0) throw new Error(`sweep clause '${clause}' is not key=v1,v2,...`);
      const values = clause.slice(eq + 1).split(',').map((v) => parseValue(v.trim()));
      if (values.length === 0) throw new Error(`sweep clause '${clause}' has no values`);
      return { key: clause.slice(0, eq).trim(), values };
    });
}

/** Method variants of a sweep over `baseName` (default StableDrag). The base itself comes first. */
export function sweepSpecs(spec: string, mode: 'oat' | 'grid' = 'oat', baseName = 'stabledrag'): MethodSpec[] {
  const base = METHODS[baseName];
  if (!base) throw new Error(`unknown base method '${baseName}'`);
  const clauses = parseSweep(spec);
  const out: MethodSpec[] = [{ name: baseName, options: structuredClone(base) }];
  if (mode === 'oat') {
    for (const { key, values } of clauses) {
      for (const v of values) out.push({ name: `${baseName}[${key}=${v}]`, options: withOption(base, key, v) });
    }
    return out;
  }
  let combos: Array<Array<[string, number | boolean | string]>> = [[]];
  for (const { key, values } of clauses) combos = combos.flatMap((c) => values.map((v) => [...c, [key, v] as [string, number | boolean | string]]));
  for (const combo of combos) {
    const options = combo.reduce((o, [k, v]) => withOption(o, k, v), structuredClone(base) as DragOptionsInput);
    out.push({ name: `${baseName}[${combo.map(([k, v]) => `${k}=${v}`).join(',')}]`, options });
  }
  return out;
}
