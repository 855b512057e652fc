/**
 * Liveness and readiness, as orchestrators (Kubernetes, load balancers) probe them: live means the process
 * answers HTTP; ready means it can serve a room, so the database answers a real query and at least one
 * drag worker is alive. Restarting on a failed readiness probe would not help a locked database, which is
 * why the two are separate. In a cluster, Redis must answer too, and a node that is draining (SIGTERM) is
 * not ready, so a load balancer sends new clients elsewhere while it finishes.
 *
 * In a cluster the drag workers are separate processes shared by every web node: their count is reported
 * ('N live (cluster)') but does not make a node unready. A node with no live worker still serves rooms
 * (documents, points, history, presence; drags wait in the queue until a worker comes), and failing readiness
 * would take every web node out of the load balancer at once, stopping all of that for a fault that is the
 * workers' alone. Operators alert on the workers' own readiness (`npm run worker`, STABLEDRAG_WORKER_PORT).
 */

export interface ReadinessChecks {
  /** Runs a real query; rejects when the database cannot answer. */
  database(): Promise<void>;
  /** Drag workers alive and the pool's size; undefined for a job queue that runs elsewhere. */
  workers(): { live: number; size: number } | undefined;
  /** Cluster mode: PING; rejects when Redis does not answer. */
  redis?(): Promise<void>;
  /** True once the process has begun to shut down. */
  draining?(): boolean;
}

export interface Readiness {
  ok: boolean;
  database: string;
  workers: string;
  /** 'ok', 'failed: ...', or absent when the process runs alone. */
  redis?: string;
  /** Present (true) while the process shuts down. */
  draining?: true;
  /** The names of the checks that failed ('database', 'workers', 'redis', 'draining'). */
  failed: string[];
}

/** A database that takes longer than this to answer a trivial query counts as down. */
const DATABASE_TIMEOUT_MS = 2000;

/** 'ok', or 'failed: <the last line of the error>' when `check` rejects or takes over `DATABASE_TIMEOUT_MS`. */
async function probe(check: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${DATABASE_TIMEOUT_MS} ms`)), DATABASE_TIMEOUT_MS))),
    ]);
    return 'ok';
  } catch (err) {
    // Prisma's messages open with the call site over several lines; the last line says what went wrong.
    const lines = String((err as Error)?.message ?? err).split('\n').filter((l) => l.trim());
    return `failed: ${lines.at(-1)?.trim() ?? 'unknown error'}`.slice(0, 200);
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(checks: ReadinessChecks): Promise<Readiness> {
  const failed: string[] = [];
  const [database, redis] = await Promise.all([probe(checks.database), checks.redis ? probe(checks.redis) : undefined]);
  if (database !== 'ok') failed.push('database');
  if (redis !== undefined && redis !== 'ok') failed.push('redis');
  const pool = checks.workers();
  let workers = 'external';
  if (pool && checks.redis) workers = `${pool.live} live (cluster)`;
  else if (pool) {
    workers = `${pool.live} of ${pool.size} live`;
    if (pool.live === 0) failed.push('workers');
  }
  const draining = checks.draining?.() === true;
  if (draining) failed.push('draining');
  return { ok: failed.length === 0, database, workers, ...(redis !== undefined && { redis }), ...(draining && { draining }), failed };
}
