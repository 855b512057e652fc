/**
 * Token buckets: each may spend `burst` at once, then `perSecond` on average. A refusal says when the next
 * token arrives, so callers can answer "try again in N s". Unlike ConnectionRateLimiter's window this forgives
 * a quiet client at once, which suits requests that come in bursts (a user flicking through seeds) and are
 * cheap one by one. `TokenBucket` is one (a connection's messages); `TokenBuckets` one per key (addresses).
 */
export interface TokenBucketOptions {
  perSecond: number;
  burst: number;
  now?: () => number;
  /** Keys remembered at most; full buckets are forgotten first (a full bucket is the same as a new one). */
  maxKeys?: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

const TAKEN: TakeResult = { ok: true };

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  take(): TakeResult {
    // An unlimited bucket: refilling it would compute 0 * Infinity.
    if (this.burst === Infinity) return TAKEN;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return TAKEN;
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond)) };
  }

  /** Whether it has refilled to its burst (then it is the same as a new one). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
  }
}

export class TokenBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly opts: TokenBucketOptions) {}

  take(key: string): TakeResult {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new TokenBucket(this.opts.perSecond, this.opts.burst, this.opts.now)));
    const taken = b.take();
    if (taken.ok) this.prune();
    return taken;
  }

  /** Forget a key (a closed connection). */
  forget(key: string): void {
    this.buckets.delete(key);
  }

  private prune(): void {
    if (this.buckets.size <= (this.opts.maxKeys ?? 10_000)) return;
    for (const [k, b] of this.buckets) if (b.isFull()) this.buckets.delete(k);
  }
}
