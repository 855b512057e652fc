/** The drag and import commands' progress lines; the drag command's progress bar (redrawn in place on a terminal) and per-step summary lines. */
import type { DragEndEvent, DragStepEvent } from '../src/drag/types.js';
import type { ImportProgress } from '../src/import/import-checkpoint.js';

export class ProgressLine {
  private readonly started = performance.now();
  private readonly tty = process.stderr.isTTY;

  constructor(private readonly maxSteps: number) {}

  step(ev: DragStepEvent): void {
    const width = 24;
    const filled = Math.round((Math.min(ev.step, this.maxSteps) / Math.max(this.maxSteps, 1)) * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const ms = ev.step > 0 ? (performance.now() - this.started) / ev.step : 0;
    const fmt = (xs: number[], d: number) => xs.map((x) => x.toFixed(d)).join(' ');
    const line =
      `step ${String(ev.step).padStart(4)}/${this.maxSteps} [${bar}] dist ${fmt(ev.distances, 1)} ` +
      `conf ${fmt(ev.confidences, 2)}${ev.enhanced.some(Boolean) ? ' (enhanced)' : ''} ` +
      `loss ${Number.isNaN(ev.loss) ? '-' : ev.loss.toFixed(4)} ${ms.toFixed(0)} ms/step`;
    process.stderr.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  finish(ev: DragEndEvent): void {
    const secs = ((performance.now() - this.started) / 1000).toFixed(1);
    process.stderr.write(`${this.tty ? '\n' : ''}${ev.reason} after ${ev.steps} steps in ${secs} s\n`);
  }
}

/** The import command's progress: megabytes read, then tensors written (one line per phase off a terminal). */
export class ImportProgressLine {
  private readonly tty = process.stderr.isTTY;
  private lastPhase = '';
  private lastPercent = -1;

  update(p: ImportProgress): void {
    const percent = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 100;
    if (p.phase === this.lastPhase && (percent === this.lastPercent || (!this.tty && percent < 100))) return;
    const what = p.phase === 'read' ? `read ${(p.done / 2 ** 20).toFixed(1)} / ${(p.total / 2 ** 20).toFixed(1)} MB` : `wrote ${p.done} / ${p.total} tensors`;
    const newline = this.lastPhase && this.lastPhase !== p.phase;
    process.stderr.write(this.tty ? `${newline ? '\n' : ''}\r${what} (${percent}%)\x1b[K` : `${what} (${percent}%)\n`);
    this.lastPhase = p.phase;
    this.lastPercent = percent;
  }

  finish(): void {
    if (this.tty && this.lastPhase) process.stderr.write('\n');
  }
}
