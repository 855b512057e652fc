/** Numbers about the last runs (frame sizes, step latency as seen by the main thread), for logs and tests. */
export interface RunStats {
  runId: string;
  steps: number;
  /** Mean time between two step messages arriving on the main thread. */
  meanStepMs: number;
  /** Mean time the worker reported per step (engine + encoding). */
  meanWorkerStepMs: number;
  meanFrameBytes: number;
  maxFrameBytes: number;
}

export class RunStatsRecorder {
  private last = 0;
  private intervals: number[] = [];
  private worker: number[] = [];
  private bytes: number[] = [];

  constructor(private readonly runId: string) {}

  step(workerMs: number, frameBytes: number | undefined): void {
    const now = performance.now();
    if (this.last) this.intervals.push(now - this.last);
    this.last = now;
    this.worker.push(workerMs);
    if (frameBytes !== undefined) this.bytes.push(frameBytes);
  }

  finish(): RunStats {
    const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0);
    return {
      runId: this.runId,
      steps: this.worker.length,
      meanStepMs: mean(this.intervals),
      meanWorkerStepMs: mean(this.worker),
      meanFrameBytes: mean(this.bytes),
      maxFrameBytes: this.bytes.length ? Math.max(...this.bytes) : 0,
    };
  }
}
