/**
 * Child process of webgpu.test.ts: a worker pool with a wasm worker and a webgpu worker, each rendering the
 * same seed (the pool gives each idle worker one of two renders sent at once). Prints one JSON line.
 */
import { fileURLToPath } from 'node:url';
import { WorkerPool } from '../../server/jobs/worker-pool.js';

const model = fileURLToPath(new URL('../fixtures/parity/model.safetensors', import.meta.url));
const pool = new WorkerPool({ workerBackends: ['wasm', 'webgpu'] });
// Two renders at once: the pool gives each idle worker one.
const results = await Promise.allSettled([3, 3].map((seed) => pool.render({ modelPath: model, seed, format: 'png' })));
await pool.close();
const summary = results.map((r) =>
  r.status === 'fulfilled' ? { ok: true, width: r.value.meta.width, height: r.value.meta.height, gpuBytes: r.value.meta.gpuBytes } : { ok: false, code: (r.reason as { code?: string }).code, message: (r.reason as Error).message },
);
const [a, b] = results.map((r) => (r.status === 'fulfilled' ? r.value.latent : undefined));
const latentMaxDiff = a && b ? Math.max(...a.map((v, i) => Math.abs(v - b[i]))) : null;
console.log(JSON.stringify({ workers: 2, results: summary, latentMaxDiff }));
