/** The drag command's progress bar (redrawn in place on a terminal) and per-step summary lines. */
import type { DragEndEvent, DragStepEvent } from '../src/drag/types.js';

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
