/**
 * Debounce with a ceiling: runs `fn` once changes have been quiet for `waitMs`, but never later than
 * `maxWaitMs` after the first unsaved change (Hocuspocus's 2 s / 10 s), so a room that is edited
 * continuously is still saved regularly.
 */
export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly waitMs: number,
    private readonly maxWaitMs: number,
  ) {}

  get pending(): boolean {
    return this.timer !== undefined;
  }

  trigger(): void {
    const now = Date.now();
    if (this.timer === undefined) this.firstAt = now;
    else clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.waitMs, this.firstAt + this.maxWaitMs - now));
    this.timer = setTimeout(() => void this.flush(), delay);
  }

  /** Runs now if something is pending; resolves after any run in progress. Runs never overlap. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.running = this.running.then(this.fn).catch((err) => console.error('[debounce] failed:', err));
    }
    return this.running;
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
