/**
 * A short lock in Redis (SET NX PX; released only by its holder, with a compare-and-delete script). It keeps
 * two nodes from interleaving a read-merge-write of the same stored document; it is a guard for a few hundred
 * milliseconds of work, not a lease: the TTL frees it if its holder dies.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class LockTimeoutError extends Error {}

export interface LockOptions {
  /** The lock frees itself after this long even if its holder never releases it. Default 10 s. */
  ttlMs?: number;
  /** How long to wait for a lock another holder has. Default 5 s. */
  waitMs?: number;
}

export async function withRedisLock<T>(redis: Redis, key: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const ttlMs = opts.ttlMs ?? 10_000;
  const deadline = Date.now() + (opts.waitMs ?? 5000);
  const token = randomBytes(12).toString('hex');
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') break;
    if (Date.now() > deadline) throw new LockTimeoutError(`the lock ${key} is held elsewhere`);
    await new Promise((r) => setTimeout(r, wait));
  }
  try {
    return await fn();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => {
      // Redis is away: the TTL frees the lock.
    });
  }
}
