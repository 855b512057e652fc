/**
 * Token buckets by key (an address, a connection): each key may spend `burst` at once, then `perSecond` on
 * average. A refusal says when the next token arrives, so callers can answer "try again in N s". Unlike
 * ConnectionRateLimiter's window this forgives a quiet client at once, which suits requests that come in
 * bursts (a user flicking through seeds) and are cheap one by one.
 */
export interface TokenBucketOptions {
  perSecond: number;
  burst: number;
  now?: () => number;
  /** Keys remembered at most; full buckets are forgotten first (a full bucket is the same as a new one). */
  maxKeys?: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: TokenBucketOptions) {
    this.now = opts.now ?? Date.now;
  }

  take(key: string): TakeResult {
    const t = this.now();
    const { perSecond, burst } = this.opts;
    const b = this.buckets.get(key) ?? { tokens: burst, at: t };
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.prune(t);
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perSecond)) };
  }

  /** Forget a key (a closed connection). */
  forget(key: string): void {
    this.buckets.delete(key);
  }

  private prune(t: number): void {
    if (this.buckets.size <= (this.opts.maxKeys ?? 10_000)) return;
    const { perSecond, burst } = this.opts;
    for (const [k, b] of this.buckets) if (b.tokens + ((t - b.at) / 1000) * perSecond >= burst) this.buckets.delete(k);
  }
}
