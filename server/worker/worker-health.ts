/**
 * The health endpoints of `npm run worker` (STABLEDRAG_WORKER_PORT), answering as a web node's do so one probe
 * configuration fits both: GET /api/health/live (the process answers), GET /api/health and /api/health/ready
 * (Redis answers, a drag thread is alive, and the worker is not draining; 503 with `failed` naming what is not).
 * Nothing else is served: the port carries no job data and accepts no input but the path.
 */
import { createServer, type Server } from 'node:http';

export interface WorkerReadinessChecks {
  redis(): Promise<void>;
  threads(): { live: number; size: number };
  draining(): boolean;
}

const REDIS_TIMEOUT_MS = 2000;

async function readiness(checks: WorkerReadinessChecks) {
  const failed: string[] = [];
  let redis = 'ok';
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([checks.redis(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS)))]);
  } catch (err) {
    redis = `failed: ${(err as Error).message}`.slice(0, 200);
    failed.push('redis');
  } finally {
    clearTimeout(timer);
  }
  const threads = checks.threads();
  if (threads.live === 0) failed.push('workers');
  const draining = checks.draining();
  if (draining) failed.push('draining');
  return { ok: failed.length === 0, redis, workers: `${threads.live} of ${threads.size} live`, ...(draining && { draining }), failed };
}

export function serveWorkerHealth(port: number, host: string, checks: WorkerReadinessChecks): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'GET only' });
    if (path === '/api/health/live') return send(200, { ok: true });
    if (path !== '/api/health' && path !== '/api/health/ready') return send(404, { error: 'not found' });
    readiness(checks).then((r) => send(r.ok ? 200 : 503, r), (err: Error) => send(503, { ok: false, error: err.message }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
