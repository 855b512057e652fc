/**
 * Connections per address per minute, counted across Socket.IO and Yjs together (a browser tab opens one
 * of each), in the spirit of Hocuspocus's throttle extension: an address over the limit is refused until
 * its ban ends. Kept outside both transports; studio-server.ts plugs it into each.
 */
export interface ConnectionRateLimiterOptions {
  maxPerMinute: number;
  banMs: number;
  now?: () => number;
}

export class ConnectionRateLimiter {
  private readonly seen = new Map<string, { times: number[]; bannedUntil: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: ConnectionRateLimiterOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Records a connection attempt from `address`; false means refuse it. */
  allow(address: string | undefined): boolean {
    const ip = address ?? 'unknown';
    const t = this.now();
    const entry = this.seen.get(ip) ?? { times: [], bannedUntil: 0 };
    this.seen.set(ip, entry);
    if (entry.bannedUntil > t) return false;
    entry.times = entry.times.filter((x) => t - x < 60_000);
    entry.times.push(t);
    if (entry.times.length > this.opts.maxPerMinute) {
      entry.bannedUntil = t + this.opts.banMs;
      return false;
    }
    // Forget quiet addresses so the map cannot grow without bound.
    if (this.seen.size > 10_000) {
      for (const [k, v] of this.seen) if (v.bannedUntil < t && v.times.every((x) => t - x >= 60_000)) this.seen.delete(k);
    }
    return true;
  }
}
