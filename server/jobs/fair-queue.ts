/**
 * A bounded queue served round-robin by caller (a room, an address): each turn takes the oldest item of the
 * next caller, so one caller with many items waits behind its own, not in front of everyone else. Bounded in
 * all and per caller, so a caller who fills its share is refused while others still get in.
 */
export interface FairQueueLimits {
  max: number;
  maxPerCaller: number;
}

export class FairQueue<T> {
  /** Map order is the turn order: a caller served goes to the back. */
  private readonly byCaller = new Map<string, T[]>();
  private count = 0;

  constructor(private readonly limits: FairQueueLimits) {}

  get size(): number {
    return this.count;
  }

  /** Adds an item; false (nothing added) when the queue or the caller's share is full. */
  push(caller: string, item: T): boolean {
    const mine = this.byCaller.get(caller);
    if (this.count >= this.limits.max || (mine?.length ?? 0) >= this.limits.maxPerCaller) return false;
    if (mine) mine.push(item);
    else this.byCaller.set(caller, [item]);
    this.count++;
    return true;
  }

  /** The next caller's oldest item. */
  shift(): T | undefined {
    const first = this.byCaller.entries().next();
    if (first.done) return undefined;
    const [caller, items] = first.value;
    const item = items.shift()!;
    this.byCaller.delete(caller);
    if (items.length > 0) this.byCaller.set(caller, items);
    this.count--;
    return item;
  }

  /** Empties the queue, returning what was in it. */
  drain(): T[] {
    const all = [...this.byCaller.values()].flat();
    this.byCaller.clear();
    this.count = 0;
    return all;
  }
}
