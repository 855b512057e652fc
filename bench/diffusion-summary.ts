/**
 * Tables of the GAN-vs-diffusion drag benchmark: summary.ts's tables for all four methods, the paired
 * comparisons within each family (StableDrag vs DragGAN, StableDrag-Diff vs DragDiffusion) and across them
 * (each diffusion method against its GAN counterpart on the same cases), and the time per edit by stage.
 */
import type { CaseResult } from './run-case.js';
import { categoryTable, claimSection, methodOrder, overallTable, paired } from './summary.js';

const f = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Mean PSNR of a method over the given cases. */
function psnrOn(results: CaseResult[], method: string, cases: Set<string>): number {
  return avg(results.filter((r) => r.method === method && cases.has(r.caseId) && Number.isFinite(r.psnr)).map((r) => r.psnr));
}

/** Each (a, b) pair on the cases both ran, by drag length and overall: MD, wins, sign test, PSNR. */
export function crossTable(results: CaseResult[], pairs: Array<[string, string]>): string {
  const rows: string[][] = [];
  for (const [a, b] of pairs) {
    for (const c of [...paired(results, a, b, (r) => r.length), ...paired(results, a, b, () => 'all')]) {
      const cases = new Set(results.filter((r) => r.method === b && (c.group === 'all' || r.length === c.group)).map((r) => r.caseId));
      rows.push([`${a} vs ${b}`, c.group, String(c.pairs), f(c.mdA), f(c.mdB), f(c.gain), `${c.wins} / ${c.losses}`, f(c.p, 3), `${f(psnrOn(results, a, cases), 1)} / ${f(psnrOn(results, b, cases), 1)}`]);
    }
  }
  if (rows.length === 0) return '(no paired results)';
  return table(['pair (a vs b)', 'drag length', 'pairs', 'MD a', 'MD b', 'gain (a - b)', 'b better / worse (> 0.5 px)', 'sign test p', 'PSNR a / b'], rows);
}

/** Seconds per edit, and per stage for staged methods (per LoRA step, the inversion, per drag step, the denoising). */
export function timeTable(results: CaseResult[]): string {
  const rows = methodOrder(results).map((m) => {
    const rs = results.filter((r) => r.method === m && r.reason !== 'error');
    const staged = rs.filter((r) => r.stages);
    const per = (stage: string, byCount: boolean) =>
      staged.length ? f(avg(staged.map((r) => r.stages!.seconds[stage] / (byCount ? Math.max(1, r.stages!.counts[stage]) : 1))), 2) : '-';
    return [m, String(rs.length), f(avg(rs.map((r) => r.seconds)), 1), f(avg(rs.map((r) => r.steps)), 1), per('lora', true), per('invert', false), per('drag', true), per('denoise', false)];
  });
  return table(['method', 'edits', 's/edit', 'steps', 'LoRA s/step', 'inversion s', 'drag s/step', 'denoise + decode s'], rows);
}

export function diffusionReport(results: CaseResult[]): string {
  const parts = [
    '### All cases\n',
    overallTable(results),
    '\n### Time per edit\n',
    timeTable(results),
    '\n### StableDrag vs DragGAN by drag length (paired, same cases)\n',
    claimSection(results, 'draggan', 'stabledrag'),
    '\n### StableDrag-Diff vs DragDiffusion by drag length (paired, same cases)\n',
    claimSection(results, 'dragdiffusion', 'stabledrag-diff'),
    '\n### GAN vs diffusion (paired, same cases and start images)\n',
    crossTable(results, [['draggan', 'dragdiffusion'], ['stabledrag', 'stabledrag-diff']]),
    '\n### By drag length\n',
    categoryTable(results, (r) => r.length, 'length'),
    '\n### With and without mask\n',
    categoryTable(results, (r) => (r.masked ? 'mask' : 'no-mask'), 'mask'),
  ];
  const errors = results.filter((r) => r.reason === 'error');
  if (errors.length) parts.push(`\n${errors.length} run(s) ended with an error: ${errors.slice(0, 5).map((r) => `${r.caseId}/${r.method}: ${r.error}`).join('; ')}`);
  return parts.join('\n');
}
