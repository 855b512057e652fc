/**
 * Which worker processes (`npm run worker`) are alive, as web nodes read it for /api/health: each worker keeps
 * an entry in one sorted set, scored with the time its entry expires, and renews it every third of that time.
 * A killed worker's entry simply stops being renewed, so no process has to notice the death: readers count
 * the entries not yet expired (and prune the rest). The member names the worker and its devices, so the count
 * is of devices (drags that can run at once), as the in-process pool's is.
 */
import type { Redis } from 'ioredis';

export const workersKey = (prefix: string) => `${prefix}:workers`;

/** A worker's entry lives this long without renewal. */
export const WORKER_ENTRY_MS = 10_000;

/** The member of a worker with `devices` devices; its instance id is unique to this start of the process. */
export const workerMember = (instance: string, devices: number) => `${instance}|${devices}`;

/** Keeps this worker's entry alive until stop() removes it. */
export function registerWorker(redis: Redis, prefix: string, member: string): { stop(): Promise<void> } {
  const renew = () => {
    // A renewal missed during an outage is simply missed: the offline queue would only replay stale ones.
    if (redis.status === 'ready') redis.zadd(workersKey(prefix), Date.now() + WORKER_ENTRY_MS, member).catch(() => {});
  };
  renew();
  const timer = setInterval(renew, WORKER_ENTRY_MS / 3);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      if (redis.status === 'ready') await redis.zrem(workersKey(prefix), member).catch(() => {});
    },
  };
}

/** The devices of the workers alive now: prunes expired entries and sums the live ones'. */
export async function liveWorkerDevices(redis: Redis, prefix: string): Promise<number> {
  const key = workersKey(prefix);
  const now = Date.now();
  const [, live] = (await redis.multi().zremrangebyscore(key, '-inf', now).zrangebyscore(key, now, '+inf').exec()) ?? [];
  const members = (live?.[1] as string[] | undefined) ?? [];
  let devices = 0;
  for (const m of members) {
    const n = Number(m.slice(m.lastIndexOf('|') + 1));
    // An entry written by something else counts as one device rather than as many as it claims.
    devices += Number.isInteger(n) && n > 0 && n <= 64 ? n : 1;
  }
  return devices;
}
