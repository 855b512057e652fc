/**
 * Liveness and readiness, as orchestrators (Kubernetes, load balancers) probe them: live means the process
 * answers HTTP; ready means it can serve a room, so the database answers a real query and at least one
 * drag worker is alive. Restarting on a failed readiness probe would not help a locked database, which is
 * why the two are separate.
 */

export interface ReadinessChecks {
  /** Runs a real query; rejects when the database cannot answer. */
  database(): Promise<void>;
  /** Drag workers alive and the pool's size; undefined for a job queue that runs elsewhere. */
  workers(): { live: number; size: number } | undefined;
}

export interface Readiness {
  ok: boolean;
  database: string;
  workers: string;
  /** The names of the checks that failed ('database', 'workers'). */
  failed: string[];
}

/** A database that takes longer than this to answer a trivial query counts as down. */
const DATABASE_TIMEOUT_MS = 2000;

export async function checkReadiness(checks: ReadinessChecks): Promise<Readiness> {
  const failed: string[] = [];
  let database = 'ok';
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      checks.database(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${DATABASE_TIMEOUT_MS} ms`)), DATABASE_TIMEOUT_MS))),
    ]);
  } catch (err) {
    // Prisma's messages open with the call site over several lines; the last line says what went wrong.
    const lines = String((err as Error)?.message ?? err).split('\n').filter((l) => l.trim());
    database = `failed: ${lines.at(-1)?.trim() ?? 'unknown error'}`.slice(0, 200);
    failed.push('database');
  } finally {
    clearTimeout(timer);
  }
  const pool = checks.workers();
  let workers = 'external';
  if (pool) {
    workers = `${pool.live} of ${pool.size} live`;
    if (pool.live === 0) failed.push('workers');
  }
  return { ok: failed.length === 0, database, workers, failed };
}
