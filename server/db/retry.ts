/**
 * Retries of database writes. A write fails for reasons that often pass (SQLITE_BUSY past the busy timeout
 * while another process holds the file, a full disk being cleared, an I/O error on a network volume), so a
 * write is tried again with a doubling wait before its caller gives up; every failure is logged. The waits
 * are deterministic: one process writes one SQLite file, so there is no herd for jitter to spread.
 */
import type { ServerLimits } from '../limits.js';

export interface RetryPolicy {
  /** Tries after the first before giving up. */
  retries: number;
  /** Wait before the first retry; each later one waits twice as long as the one before. */
  firstDelayMs: number;
}

export function retryPolicy(limits: Pick<ServerLimits, 'storageRetries' | 'storageRetryMs'>): RetryPolicy {
  return { retries: limits.storageRetries, firstDelayMs: limits.storageRetryMs };
}

/** The wait before retry `n` (1-based). Past `retries` it stays at the longest bounded wait (for writes never given up). */
export function retryDelayMs(policy: RetryPolicy, n: number): number {
  return policy.firstDelayMs * 2 ** (Math.max(1, Math.min(n, policy.retries)) - 1);
}

/**
 * An error's message in one line, fit for a log line and for clients: Prisma's messages start with the call
 * site and a code excerpt (server paths) and end with what went wrong, which is what is kept.
 */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? 'unknown error').slice(0, 200);
}

/** Runs `write`, retrying it per `policy`; rejects with the last error once the retries are spent. */
export async function withRetries<T>(what: string, write: () => Promise<T>, policy: RetryPolicy, log: (line: string) => void = console.warn): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await write();
    } catch (err) {
      if (n > policy.retries) {
        log(`[db] ${what} failed (${errorMessage(err)}); gave up after ${policy.retries} retries`);
        throw err;
      }
      const delay = retryDelayMs(policy, n);
      log(`[db] ${what} failed (${errorMessage(err)}); retry ${n} of ${policy.retries} in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
