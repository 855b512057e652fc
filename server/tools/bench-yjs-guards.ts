/**
 * What the Yjs connection guards cost on the main thread (yjs/update-deps.ts, yjs/doc-size.ts, yjs/compact.ts),
 * on a room document at DOC_LIMITS (~0.9 MB) and on one grown with tombstones (two peers moving one point in
 * turn), and what a compaction saves:
 * - missingDependencies per update: a point move (what every edit pays) and a reconnecting peer's step 2 of
 *   `moves` moves;
 * - DocSizeGuard.measure (an encoding; runs only near the cap, at most once a second per document);
 * - compactIfDue on documents holding 1 000 to `moves` tombstones: time, encoded size before and after.
 *
 *   npx tsx server/tools/bench-yjs-guards.ts [moves=20000]
 */
import * as Y from 'yjs';
import { DOC_LIMITS } from '../../contract/doc-limits.js';
import { addPoint, maskOf, movePoint, readPoints } from '../../contract/room-doc.js';
import { compactIfDue } from '../yjs/compact.js';
import { DocSizeGuard } from '../yjs/doc-size.js';
import { missingDependencies } from '../yjs/update-deps.js';

const MOVES = Number(process.argv[2] ?? 20_000);
const RES = 128;
const user = { id: 'u', name: 'U', color: '#123456' };

function fullDoc(): Y.Doc {
  const doc = new Y.Doc();
  for (let i = 0; i < DOC_LIMITS.maxPointPairs; i++) {
    addPoint(doc, [i, i], user);
    addPoint(doc, [RES - 1 - i, i], user);
  }
  const perStroke = DOC_LIMITS.maxMaskCoords / DOC_LIMITS.maxMaskStrokes;
  for (let i = 0; i < DOC_LIMITS.maxMaskStrokes; i++) {
    maskOf(doc).push([{ id: `s${i}`, mode: 'flexible', radius: 4, points: Array.from({ length: perStroke }, (_, k) => (k * 7.31 + i) % RES) }]);
  }
  return doc;
}

/** `base` plus `moves` moves of one point by two replicas in turn; returns the grown document and every update. */
function churn(base: Y.Doc, moves: number): { doc: Y.Doc; updates: Uint8Array[] } {
  const [a, b] = [new Y.Doc(), new Y.Doc()];
  Y.applyUpdate(a, Y.encodeStateAsUpdate(base));
  Y.applyUpdate(b, Y.encodeStateAsUpdate(base));
  const id = readPoints(a)[0].id;
  const updates: Uint8Array[] = [];
  for (let i = 0; i < moves; i++) {
    const [from, to] = i % 2 ? [a, b] : [b, a];
    const u = ((): Uint8Array => {
      let out: Uint8Array | null = null;
      from.once('update', (x: Uint8Array) => (out = x));
      movePoint(from, id, 'handle', [i % RES, (i * 7) % RES]);
      return out!;
    })();
    updates.push(u);
    Y.applyUpdate(to, u);
  }
  return { doc: a, updates };
}

/** Mean ms per call; with reps > 1 a few calls first, so the JIT has settled. */
function ms(f: () => void, reps = 1): number {
  if (reps > 1) for (let i = 0; i < 3; i++) f();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t0) / reps;
}

const fmt = (n: number) => n.toFixed(n < 1 ? 3 : 1);
const base = fullDoc();
console.log(`document at DOC_LIMITS: ${Y.encodeStateAsUpdate(base).byteLength} bytes`);

const { doc: grown, updates } = churn(base, Math.min(MOVES, 2000));
const server = new Y.Doc();
Y.applyUpdate(server, Y.encodeStateAsUpdate(base));
const move = updates[0];
missingDependencies(server, move);
console.log(`missingDependencies, one point move (${move.byteLength} B) on it: ${fmt(ms(() => missingDependencies(server, move), 2000))} ms`);
const step2 = Y.encodeStateAsUpdate(grown, Y.encodeStateVector(server));
console.log(`missingDependencies, a step 2 of ${updates.length} moves (${step2.byteLength} B): ${fmt(ms(() => missingDependencies(server, step2), 20))} ms`);

const guard = new DocSizeGuard(base, 2_000_000);
console.log(`DocSizeGuard.measure at DOC_LIMITS: ${fmt(ms(() => guard.measure(), 20))} ms`);

for (const n of [1000, 5000, MOVES].filter((n, i, all) => n <= MOVES && all.indexOf(n) === i)) {
  for (const [label, start] of [['empty room', new Y.Doc()], ['room at DOC_LIMITS', base]] as const) {
    const seeded = new Y.Doc();
    Y.applyUpdate(seeded, Y.encodeStateAsUpdate(start));
    if (readPoints(seeded).length === 0) addPoint(seeded, [1, 1], user);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(churn(seeded, n).doc));
    const before = Y.encodeStateAsUpdate(doc).byteLength;
    let removed = 0;
    const t = ms(() => (removed = compactIfDue(doc, { ratio: 0.5, minTombstones: 1000 })));
    const after = Y.encodeStateAsUpdate(doc).byteLength;
    console.log(`compactIfDue, ${label}, ${n} moves: ${removed ? `${removed} tombstones removed in ${fmt(t)} ms` : `not due (${fmt(t)} ms to decide)`}, ${before} -> ${after} bytes`);
  }
}
