/**
 * Aggregates per-case results into markdown tables: per method, per category, and the paired comparison
 * behind the StableDrag paper's claim (it beats DragGAN most on long drags).
 */
import type { CaseResult } from './run-case.js';

type Num = keyof { [K in keyof CaseResult as CaseResult[K] extends number | boolean ? K : never]: true };

/** Mean of a field over results, ignoring NaN (booleans count as 0/1). */
export function mean(rows: CaseResult[], key: Num): number {
  const v = rows.map((r) => Number(r[key])).filter((x) => !Number.isNaN(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

const f = (v: number, digits = 2) => (Number.isNaN(v) ? '-' : v.toFixed(digits));
const pct = (v: number) => (Number.isNaN(v) ? '-' : `${Math.round(v * 100)}%`);

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

export function methodOrder(results: CaseResult[]): string[] {
  return [...new Set(results.map((r) => r.method))];
}

export function overallTable(results: CaseResult[]): string {
  const rows = methodOrder(results).map((m) => {
    const rs = results.filter((r) => r.method === m);
    const steps = rs.reduce((a, r) => a + r.steps + 1, 0);
    const secs = rs.reduce((a, r) => a + r.seconds, 0);
    return [
      m, String(rs.length), f(mean(rs, 'startDistance'), 1), f(mean(rs, 'md')), f(mean(rs, 'md512'), 1), pct(mean(rs, 'hit')),
      pct(mean(rs, 'reached')), f(mean(rs, 'trackError')), f(mean(rs, 'trackErrorFinal')), f(mean(rs, 'psnr'), 1),
      f(mean(rs, 'ssim'), 3), f(mean(rs, 'dfd'), 3), f(mean(rs, 'confidence')), pct(mean(rs, 'enhancedShare')), f(mean(rs, 'steps'), 1), f(secs / rs.length, 1), f((1000 * secs) / steps, 0),
    ];
  });
  return table(
    ['method', 'cases', 'start px', 'MD px', 'MD@512', 'hit', 'reached', 'track err', 'track err final', 'PSNR', 'SSIM', 'DFD', 'conf', 'enhanced', 'steps', 's/case', 'ms/step'],
    rows,
  );
}

export function categoryTable(results: CaseResult[], key: (r: CaseResult) => string, label: string): string {
  const methods = methodOrder(results);
  const groups = [...groupBy(results, key).entries()].sort(([a], [b]) => a.localeCompare(b));
  const rows = groups.map(([g, rs]) => [
    g,
    String(rs.filter((r) => r.method === methods[0]).length),
    ...methods.map((m) => {
      const x = rs.filter((r) => r.method === m);
      return `${f(mean(x, 'md'))} / ${pct(mean(x, 'reached'))} / ${f(mean(x, 'psnr'), 1)}`;
    }),
  ]);
  return table([label, 'cases', ...methods.map((m) => `${m}: MD / reached / PSNR`)], rows);
}

/** Two-sided sign test p-value for `wins` against `losses` (ties dropped). */
export function signTestP(wins: number, losses: number): number {
  const n = wins + losses;
  if (n === 0) return 1;
  const k = Math.min(wins, losses);
  let logC = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

export interface PairedComparison {
  group: string;
  pairs: number;
  mdA: number;
  mdB: number;
  /** mdA - mdB: positive when B (StableDrag) is more accurate. */
  gain: number;
  wins: number;
  losses: number;
  p: number;
}

/** Paired MD comparison of method b against a per group (same cases); a difference under `tie` px is a tie. */
export function paired(results: CaseResult[], a: string, b: string, key: (r: CaseResult) => string, tie = TIE_PX): PairedComparison[] {
  const byCase = new Map(results.filter((r) => r.method === a).map((r) => [r.caseId, r]));
  const out = new Map<string, PairedComparison>();
  for (const rb of results.filter((r) => r.method === b)) {
    const ra = byCase.get(rb.caseId);
    if (!ra) continue;
    const g = key(rb);
    const c = out.get(g) ?? { group: g, pairs: 0, mdA: 0, mdB: 0, gain: 0, wins: 0, losses: 0, p: 1 };
    c.pairs++;
    c.mdA += ra.md;
    c.mdB += rb.md;
    if (ra.md - rb.md > tie) c.wins++;
    else if (rb.md - ra.md > tie) c.losses++;
    out.set(g, c);
  }
  return [...out.values()]
    .map((c) => ({ ...c, mdA: c.mdA / c.pairs, mdB: c.mdB / c.pairs, gain: (c.mdA - c.mdB) / c.pairs, p: signTestP(c.wins, c.losses) }))
    .sort((x, y) => x.group.localeCompare(y.group));
}

/** Mean MD differences within this many px are not read as a difference. */
export const TIE_PX = 0.5;

export function claimSection(results: CaseResult[], a = 'draggan', b = 'stabledrag'): string {
  const rows = paired(results, a, b, (r) => r.length);
  if (rows.length === 0) return `(no paired ${a}/${b} results)`;
  const t = table(
    ['drag length', 'pairs', `${a} MD`, `${b} MD`, `gain (${a} - ${b})`, `${b} better / worse (> 0.5 px)`, 'sign test p'],
    rows.map((c) => [c.group, String(c.pairs), f(c.mdA), f(c.mdB), f(c.gain), `${c.wins} / ${c.losses}`, f(c.p, 3)]),
  );
  const short = rows.find((c) => c.group === 'short');
  const long = rows.find((c) => c.group === 'long');
  let verdict = 'Not enough paired short and long cases to judge the claim.';
  if (short && long) {
    const sig = long.p < 0.05;
    const test = `sign test on long drags p = ${f(long.p, 3)}, ${long.pairs} pairs`;
    if (long.gain > TIE_PX && long.gain > short.gain) {
      verdict = `${b} gains more over ${a} on long drags (${f(long.gain)} px) than on short ones (${f(short.gain)} px), as the paper claims; the long-drag difference is ${sig ? '' : 'not '}significant (${test}).`;
    } else if (Math.abs(long.gain) <= TIE_PX) {
      verdict = `No evidence either way: ${b}'s gain over ${a} on long drags (${f(long.gain)} px; short: ${f(short.gain)} px) is within the ${TIE_PX} px tie margin (${test}).`;
    } else {
      verdict = `We do not see the paper's claim here: ${b}'s gain over ${a} is ${f(long.gain)} px on long drags vs ${f(short.gain)} px on short ones (${test}).`;
    }
  }
  return `${t}\n\n${verdict}`;
}

export function report(results: CaseResult[]): string {
  const parts = [
    '### All cases\n',
    overallTable(results),
    '\n### StableDrag vs DragGAN by drag length (paired, same cases)\n',
    claimSection(results),
    '\n### Per category (length / points / mask)\n',
    categoryTable(results, (r) => `${r.length}/${r.count}/${r.masked ? 'mask' : 'no-mask'}`, 'category'),
    '\n### By drag length\n',
    categoryTable(results, (r) => r.length, 'length'),
    '\n### By point count\n',
    categoryTable(results, (r) => r.count, 'points'),
    '\n### With and without mask\n',
    categoryTable(results, (r) => (r.masked ? 'mask' : 'no-mask'), 'mask'),
  ];
  parts.push(`\nCase check: on the first frame the detector finds the handled landmarks ${f(mean(results, 'startError'), 3)} px (mean) from the case file's handles (0 unless the model or detector changed).`);
  const errors = results.filter((r) => r.reason === 'error');
  if (errors.length) parts.push(`\n${errors.length} run(s) ended with an error: ${errors.slice(0, 5).map((r) => `${r.caseId}/${r.method}: ${r.error}`).join('; ')}`);
  return parts.join('\n');
}
