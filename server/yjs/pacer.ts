/**
 * Lets a value through at most once per interval, newest wins: the first goes at once, values within the
 * interval after it wait and only the newest of them goes at the end of it. Used where only the latest state
 * matters (a peer's presence, the state vector of its sync request), so a burst costs one application.
 */
export class Pacer<T> {
  private last = -Infinity;
  private pending: { value: T } | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly apply: (value: T) => void,
    private readonly minIntervalMs: number,
  ) {}

  receive(value: T): void {
    const wait = this.last + this.minIntervalMs - performance.now();
    if (wait <= 0 && !this.timer) return this.flush(value);
    this.pending = { value };
    this.timer ??= setTimeout(() => {
      this.timer = null;
      const next = this.pending;
      this.pending = null;
      if (next) this.flush(next.value);
    }, Math.max(wait, 0));
  }

  private flush(value: T): void {
    this.last = performance.now();
    this.apply(value);
  }

  /** Drops what is pending (the connection closed). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
