/**
 * What writing a run's end costs (runs/run-coordinator.ts): the handles' document update, made on a scratch
 * copy of the room's document (runs/handle-moves.ts; main thread, once per run), and the end itself on a real
 * SQLite file: one transaction (room latent and image, the update, the run's status) against the separate
 * writes it replaces. Latent and image are the 128 px model's sizes (12 x 256 floats, a ~30 KB PNG).
 *
 *   npx tsx server/tools/bench-run-end.ts [runs]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { migrateDatabase } from '../db/migrate.js';
import { PrismaRoomStore } from '../rooms/prisma-room-store.js';
import { addMaskStroke, addPoint, readPoints } from '../../contract/room-doc.js';
import { handleMoves } from '../runs/handle-moves.js';
import { fullDoc, RES } from './limit-doc.js';

const N = Number(process.argv[2] ?? 40);

function usualDoc(): Y.Doc {
  const doc = new Y.Doc();
  const u = { id: 'u', name: 'U', color: '#123456' };
  for (const [x, y] of [[10, 10], [40, 40], [90, 30], [60, 100]] as const) addPoint(doc, [x, y], u);
  for (let i = 0; i < 3; i++) addMaskStroke(doc, { mode: 'flexible', radius: 8, points: Array.from({ length: 60 }, (_, k) => (k * 5.3 + i) % RES) });
  return doc;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeMoves(label: string, doc: Y.Doc): void {
  const ids = readPoints(doc).map((p) => p.id);
  const ms: number[] = [];
  for (let i = 0; i < N + 3; i++) {
    const t0 = performance.now();
    const u = handleMoves(doc, ids.map((id, k) => ({ id, handle: [(i + k) % RES, 5] })));
    if (i >= 3) ms.push(performance.now() - t0);
    if (!u) throw new Error('bench bug: no update');
  }
  console.log(`${label.padEnd(44)} median ${median(ms).toFixed(2)} ms, max ${Math.max(...ms).toFixed(2)} ms (${Y.encodeStateAsUpdate(doc).byteLength.toLocaleString()} B document)`);
}

timeMoves('handle update, usual room (2 pairs, 3 strokes)', usualDoc());
timeMoves('handle update, document at the limits', fullDoc());

const dir = mkdtempSync(join(tmpdir(), 'stabledrag-bench-'));
const dbFile = join(dir, 'bench.db');
try {
  await migrateDatabase(dbFile);
  const store = PrismaRoomStore.open(dbFile);
  const latent = new Float32Array(12 * 256).map(() => Math.random());
  const image = new Uint8Array(30_000).map(() => (Math.random() * 256) | 0);
  const room = await store.create({ title: 'bench', model: 'm', seed: 1, latent, image, imageType: 'image/png' });
  const doc = usualDoc();
  const update = handleMoves(doc, readPoints(doc).map((p) => ({ id: p.id, handle: [1, 2] })))!.update;
  let seq = 0;
  const newRun = async () => {
    const id = `bench-${seq++}`;
    await store.createRun({
      id, roomId: room.id, startedBy: null, kind: 'drag', method: 'm', points: [], settings: {}, mask: null, maskStrokes: null,
      latentBefore: latent, imageBefore: image, imageBeforeType: 'image/png',
    });
    return id;
  };
  const end = { reason: 'max-steps', steps: 50 };
  const timed = async (label: string, write: (runId: string) => Promise<void>) => {
    const ms: number[] = [];
    for (let i = 0; i < N + 3; i++) {
      const runId = await newRun();
      const t0 = performance.now();
      await write(runId);
      if (i >= 3) ms.push(performance.now() - t0);
    }
    console.log(`${label.padEnd(44)} median ${median(ms).toFixed(2)} ms, max ${Math.max(...ms).toFixed(2)} ms`);
  };
  await timed('run end, separate writes (image, update, run)', async (runId) => {
    await store.saveImage(room.id, { latent, image, imageType: 'image/png' });
    await store.appendDocumentUpdate(room.id, update);
    await store.finishRun(runId, end);
  });
  await timed('run end, one transaction', (runId) => store.finishRun(runId, end, { roomId: room.id, latent, image, imageType: 'image/png', docUpdate: update }));
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
