/**
 * The store's hot writes on SQLite and on PostgreSQL, side by side, through PrismaRoomStore: step records
 * one at a time (one run in one room) and 40 rooms' steps at once (the group commit batches them), and Yjs
 * update appends. Sizes are the 128 px model's (12 x 256 float latent, a ~20 KB lossless frame). PostgreSQL is
 * a throwaway local server (prisma/postgres-cluster.ts, fsync off like the tests) unless DATABASE_URL names
 * one; SQLite is a temp file in WAL mode with synchronous=NORMAL, as the server runs it.
 *
 *   npx tsx server/tools/bench-store-providers.ts [steps]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgresCluster, type PostgresCluster } from '../../prisma/postgres-cluster.js';
import { parseDatabaseUrl, type Database } from '../db/database.js';
import { migrateDatabase } from '../db/migrate.js';
import { PrismaRoomStore } from '../rooms/prisma-room-store.js';

const N = Number(process.argv[2] ?? 200);
const ROOMS = 40;
const latent = new Float32Array(12 * 256).map(() => Math.random());
const frame = new Uint8Array(20_000).map(() => (Math.random() * 256) | 0);

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

async function bench(label: string, db: Database): Promise<void> {
  const t0 = performance.now();
  await migrateDatabase(db);
  const migrateMs = performance.now() - t0;
  const store = PrismaRoomStore.open(db);
  try {
    const rooms = await Promise.all(
      Array.from({ length: ROOMS }, (_, i) => store.create({ title: `r${i}`, model: 'm', seed: i, latent, image: frame, imageType: 'image/png' })),
    );
    const runIds = await Promise.all(
      rooms.map(async (room, i) => {
        const id = `run-${i}`;
        await store.createRun({
          id, roomId: room.id, startedBy: null, kind: 'drag', method: 'm', points: [], settings: {}, mask: null, maskStrokes: null,
          latentBefore: latent, imageBefore: frame, imageBeforeType: 'image/png',
        });
        return id;
      }),
    );
    const step = (runId: string, n: number) => ({
      runId, step: n, handles: [[1, 2]] as [number, number][], distances: [3], confidences: [0.9], latent, frame, frameType: 'image/webp', elapsedMs: 100,
    });
    const one: number[] = [];
    for (let n = 0; n < N; n++) {
      const t = performance.now();
      await store.addStep(step(runIds[0], n));
      one.push(performance.now() - t);
    }
    const t1 = performance.now();
    for (let n = 0; n < N / 10; n++) await Promise.all(runIds.map((id) => store.addStep(step(id, N + n))));
    const manyMs = performance.now() - t1;
    const appends: number[] = [];
    for (let n = 0; n < N; n++) {
      const t = performance.now();
      await store.appendDocumentUpdate(rooms[0].id, new Uint8Array(120).fill(n & 255));
      appends.push(performance.now() - t);
    }
    const rows = (N / 10) * ROOMS;
    console.log(
      `${label.padEnd(11)} migrate ${migrateMs.toFixed(0)} ms | one room's step: median ${median(one).toFixed(2)} ms | ` +
        `${ROOMS} rooms' steps: ${((rows / manyMs) * 1000).toFixed(0)} steps/s | Yjs append: median ${median(appends).toFixed(2)} ms`,
    );
  } finally {
    await store.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'stabledrag-bench-'));
let cluster: PostgresCluster | undefined;
try {
  await bench('SQLite', { provider: 'sqlite', file: join(dir, 'bench.db') });
  const fromEnv = parseDatabaseUrl(process.env.DATABASE_URL);
  if (!fromEnv) cluster = await startPostgresCluster();
  await bench('PostgreSQL', fromEnv ?? { provider: 'postgresql', url: await cluster!.createDatabase('bench') });
} finally {
  cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}
