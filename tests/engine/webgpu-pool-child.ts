/**
 * Child process of webgpu.test.ts: a worker pool with one webgpu worker beside a wasm one. The wasm worker
 * renders; the webgpu worker's render ends with the engine's named error for a synchronous GPU read (the
 * generator's render path reads synchronously). Prints one JSON line.
 */
import { fileURLToPath } from 'node:url';
import { WorkerPool } from '../../server/jobs/worker-pool.js';

const model = fileURLToPath(new URL('../fixtures/parity/model.safetensors', import.meta.url));
const pool = new WorkerPool({ workerBackends: ['wasm', 'webgpu'] });
// Two renders at once: the pool gives each idle worker one.
const results = await Promise.allSettled([0, 1].map((seed) => pool.render({ modelPath: model, seed, format: 'png' })));
await pool.close();
const summary = results.map((r) =>
  r.status === 'fulfilled' ? { ok: true, resolution: r.value.meta.resolution, gpuBytes: r.value.meta.gpuBytes } : { ok: false, code: (r.reason as { code?: string }).code, message: (r.reason as Error).message },
);
console.log(JSON.stringify({ workers: 2, results: summary }));
