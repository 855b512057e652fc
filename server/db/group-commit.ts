/**
 * Group commit: writes queued while one write is in flight go out together in the next one. A lone write
 * goes out at once (no added latency when the server is quiet); under load, many rooms' step records share
 * one statement instead of paying Prisma's per-query cost each (the load benchmark found that cost to be
 * half of the server's main-thread time per step). Each caller's promise settles with its own item's fate.
 */
export class GroupCommit<T, R = void> {
  private queued: { item: T; resolve: (r: R) => void; reject: (err: unknown) => void }[] = [];
  private writing = false;

  /**
   * @param writeMany writes all items atomically (one transaction) and returns each one's result, in order.
   * @param writeOne used when a batch fails, to find which items fail on their own.
   */
  constructor(
    private readonly writeMany: (items: T[]) => Promise<R[]>,
    private readonly writeOne: (item: T) => Promise<R>,
  ) {}

  write(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queued.push({ item, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queued.length > 0) {
        const batch = this.queued.splice(0);
        try {
          const results = await this.writeMany(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(results[i]));
        } catch (err) {
          if (batch.length === 1) batch[0].reject(err);
          else for (const b of batch) await this.writeOne(b.item).then(b.resolve, b.reject);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
