/**
 * A limits hook for the DocServer, kept out of the core like Hocuspocus's throttle extension: an address
 * that opens more than `maxPerWindow` connections within `windowMs` is refused until `banMs` has passed
 * (Hocuspocus: 15 per 60 s, 5 min ban). Defaults here are looser because a reconnecting tab opens one
 * connection per attempt and the studio is usually used on a trusted network.
 */
import type { DocServerHooks } from './doc-server.js';

export interface RateLimitOptions {
  /** Default 60. */
  maxPerWindow?: number;
  /** Default 60 000 ms. */
  windowMs?: number;
  /** Default 5 min. */
  banMs?: number;
  now?: () => number;
}

export function connectionRateLimit(opts: RateLimitOptions = {}): DocServerHooks {
  const max = opts.maxPerWindow ?? 60;
  const windowMs = opts.windowMs ?? 60_000;
  const banMs = opts.banMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, { times: number[]; bannedUntil: number }>();
  return {
    onConnect({ request }) {
      const ip = request.socket.remoteAddress ?? 'unknown';
      const t = now();
      const entry = seen.get(ip) ?? { times: [], bannedUntil: 0 };
      seen.set(ip, entry);
      if (entry.bannedUntil > t) return false;
      entry.times = entry.times.filter((x) => t - x < windowMs);
      entry.times.push(t);
      if (entry.times.length > max) {
        entry.bannedUntil = t + banMs;
        return false;
      }
      // Forget quiet addresses so the map cannot grow without bound.
      if (seen.size > 10_000) for (const [k, v] of seen) if (v.bannedUntil < t && v.times.every((x) => t - x >= windowMs)) seen.delete(k);
      return true;
    },
  };
}
