/**
 * A web node of a test cluster as a child process, for tests that kill it:
 *
 *   DATABASE_URL=postgres://... REDIS_URL=redis://... STABLEDRAG_REDIS_PREFIX=p STABLEDRAG_TEST_NODE_TIMEOUT_MS=3000 \
 *     node --import tsx tests/cluster/cluster-node.ts <data dir>
 *
 * The studio server with the cluster's run parts (server/runs/cluster-runs.ts) and the tiny test model, on a
 * free port; prints `listening <port>` on stdout once it serves.
 */
import { resolve } from 'node:path';
import { startStudioServer } from '../../server/studio-server.js';
import { clusterRunParts } from '../../server/runs/cluster-runs.js';
import { redisConnector } from '../../server/cluster/redis-connections.js';
import { UNLIMITED_FOR_TESTS } from '../server/helpers.js';

const dataDir = process.argv[2];
const { DATABASE_URL, REDIS_URL, STABLEDRAG_REDIS_PREFIX, STABLEDRAG_TEST_NODE_TIMEOUT_MS } = process.env;
if (!dataDir || !DATABASE_URL || !REDIS_URL) {
  console.error('usage: DATABASE_URL=... REDIS_URL=... cluster-node.ts <data dir>');
  process.exit(2);
}
const server = await startStudioServer({
  port: 0,
  host: '127.0.0.1',
  dbFile: `${dataDir}/studio.db`,
  database: { provider: 'postgresql', url: DATABASE_URL },
  models: [{ id: 'tiny', label: 'Tiny 32 px (tests)', path: resolve(import.meta.dirname, '../fixtures/parity/model.safetensors') }],
  measureStepTimes: false,
  yjs: { debounceMs: 50, maxDebounceMs: 200, unloadDelayMs: 200 },
  limits: UNLIMITED_FOR_TESTS,
  log: (line) => console.error(line),
  ...clusterRunParts(redisConnector({ url: REDIS_URL, prefix: STABLEDRAG_REDIS_PREFIX ?? 'stabledrag', nodeId: 'test' }), { nodeTimeoutMs: Number(STABLEDRAG_TEST_NODE_TIMEOUT_MS ?? 15_000) }),
});
process.stdout.write(`listening ${server.port}\n`);
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
});
