/**
 * A server-wide bound on heavy exports made at once (animations, rasterised masks): each holds tens of MB
 * and keeps libuv's threads busy, so past the bound a request is answered "busy, try again" at once instead
 * of queueing work the client may have given up on.
 */
export class ExportSlots {
  private taken = 0;

  constructor(private readonly max: number) {}

  /** Runs `work` in a slot, or returns null without running it when every slot is taken. */
  async run<T>(work: () => Promise<T>): Promise<{ value: T } | null> {
    if (this.taken >= this.max) return null;
    this.taken++;
    try {
      return { value: await work() };
    } finally {
      this.taken--;
    }
  }

  get inUse(): number {
    return this.taken;
  }
}
