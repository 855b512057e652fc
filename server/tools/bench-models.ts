/**
 * What the models directory costs and shows on a real server (no Next): the time of one scan of a models
 * directory (headers only), and each model's step time as the idle measurement finds it on this machine.
 *
 *   npx tsx server/tools/bench-models.ts [models dir, default models/] [scans, default 50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { startStudioServer } from '../studio-server.js';
import { REPO_ROOT } from '../config.js';
import { ModelRegistry } from '../rooms/model-registry.js';
import type { ModelInfo, Result, UnavailableModel } from '../../contract/events.js';

const modelsDir = resolve(process.argv[2] ?? join(REPO_ROOT, 'models'));
const scans = Number(process.argv[3] ?? 50);

const registry = new ModelRegistry({ modelsDir }, { log: () => {} });
const t0 = performance.now();
for (let i = 0; i < scans; i++) registry.scan();
const { models, unavailable } = registry.list();
console.log(`scan of ${modelsDir}: ${((performance.now() - t0) / scans).toFixed(2)} ms (${models.length} models, ${unavailable.length} unavailable; mean of ${scans})`);

const dir = mkdtempSync(join(tmpdir(), 'stabledrag-bench-models-'));
const server = await startStudioServer({ port: 0, host: '127.0.0.1', dbFile: join(dir, 'studio.db'), modelsDir, log: () => {} });
const socket = ioClient(server.url, { transports: ['websocket'], forceNew: true });
type List = Result<{ models: ModelInfo[]; unavailable: UnavailableModel[] }>;
const started = performance.now();
for (;;) {
  const res = (await socket.emitWithAck('models:list')) as List;
  if (!res.ok) throw new Error(res.error.message);
  if (res.models.every((m) => m.stepMs !== undefined)) {
    for (const m of res.models) console.log(`${m.id}: ${m.width}x${m.height}, ${(m.fileBytes / 1e6).toFixed(1)} MB, ${m.stepMs} ms per step (idle measurement)`);
    break;
  }
  if (performance.now() - started > 600_000) throw new Error('no measurement within 10 minutes');
  await new Promise((r) => setTimeout(r, 500));
}
socket.disconnect();
await server.close();
rmSync(dir, { recursive: true, force: true });
