/**
 * Debounce with a ceiling: runs `fn` once changes have been quiet for `waitMs`, but never later than
 * `maxWaitMs` after the first unsaved change (Hocuspocus's 2 s / 10 s), so a room that is edited
 * continuously is still saved regularly.
 *
 * A run that fails leaves the changes unsaved and is tried again after `retryDelayMs(failures)`, for as long
 * as it takes: the changes exist nowhere else, so giving up would lose them. `unsaved` tells the owner not to
 * drop what the run would save.
 */
export interface DebouncerRetry {
  /** Wait before the next try after `failures` failed runs in a row. */
  retryDelayMs(failures: number): number;
  /** Called on every failed run (logs). */
  onError?(err: unknown, failures: number): void;
}

/** 100 ms, doubling, at most 5 s. */
export const defaultRetryDelayMs = (failures: number): number => Math.min(100 * 2 ** (failures - 1), 5000);

const DEFAULT_RETRY: DebouncerRetry = { retryDelayMs: defaultRetryDelayMs };

export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;
  private running: Promise<void> = Promise.resolve();
  /** Changes since the last run started. */
  private dirty = false;
  private saving = false;
  private failures = 0;
  private cancelled = false;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly waitMs: number,
    private readonly maxWaitMs: number,
    private readonly retry: DebouncerRetry = DEFAULT_RETRY,
  ) {}

  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Changes that no successful run has saved yet: waiting, being saved, or left by a failed run. */
  get unsaved(): boolean {
    return this.dirty || this.saving || this.timer !== undefined;
  }

  trigger(): void {
    this.dirty = true;
    this.schedule(this.waitMs);
  }

  private schedule(waitMs: number): void {
    if (this.cancelled) return;
    const now = Date.now();
    if (this.timer === undefined) this.firstAt = now;
    else clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(waitMs, this.firstAt + this.maxWaitMs - now));
    this.timer = setTimeout(() => void this.flush(), delay);
  }

  /** Runs now if something is pending; resolves after any run in progress. Runs never overlap. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.running = this.running.then(() => this.run());
    }
    return this.running;
  }

  private async run(): Promise<void> {
    this.dirty = false;
    this.saving = true;
    try {
      await this.fn();
      this.failures = 0;
    } catch (err) {
      this.dirty = true;
      this.failures++;
      this.retry.onError?.(err, this.failures);
      // A change that came in meanwhile has already scheduled the next run.
      if (this.timer === undefined) this.schedule(this.retry.retryDelayMs(this.failures));
    } finally {
      this.saving = false;
    }
  }

  /** Runs `fn` between runs: none is in progress while it runs, and those due meanwhile wait for it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.running.then(fn);
    this.running = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  cancel(): void {
    this.cancelled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
