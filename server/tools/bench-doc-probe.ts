/**
 * What checking a client's Yjs update costs (rooms/room-doc-hooks.ts beforeApplyUpdate) on a room document at
 * DOC_LIMITS (32 point pairs, 400 mask strokes with 100 000 coordinates in all, ~0.9 MB): the shadow probe the
 * server uses (yjs/update-probe.ts) against a fresh copy per update, for a point move, a new stroke and a
 * settings change. Times are per update and include applying it to the document itself.
 *
 *   npx tsx server/tools/bench-doc-probe.ts [updates]
 */
import * as Y from 'yjs';
import { DOC_LIMITS } from '../../contract/doc-limits.js';
import { validateRoomDoc } from '../../contract/doc-validate.js';
import { maskOf, movePoint, readPoints, updateSettings } from '../../contract/room-doc.js';
import { UpdateProbe } from '../yjs/update-probe.js';
import { fullDoc, RES } from './limit-doc.js';

const N = Number(process.argv[2] ?? 200);

/** Updates a client would send: made on a replica of `doc`. */
function clientUpdates(doc: Y.Doc, kind: 'move' | 'stroke' | 'settings'): Uint8Array[] {
  const client = new Y.Doc();
  Y.applyUpdate(client, Y.encodeStateAsUpdate(doc));
  const out: Uint8Array[] = [];
  client.on('update', (u: Uint8Array) => out.push(u));
  const id = readPoints(client)[5].id;
  for (let i = 0; i < N; i++) {
    if (kind === 'move') movePoint(client, id, 'handle', [i % RES, 7]);
    else if (kind === 'settings') updateSettings(client, { maxSteps: 1 + (i % 500) });
    else {
      // Replace the last stroke, as a painter at the limit would after an undo: the count stays at the limit.
      client.transact(() => {
        const m = maskOf(client);
        if (m.length >= DOC_LIMITS.maxMaskStrokes) m.delete(m.length - 1, 1);
        m.push([{ id: `n${i}`, mode: 'fixed', radius: 3, points: Array.from({ length: 250 }, (_, k) => (k * 3.7 + i) % RES) }]);
      });
    }
  }
  return out;
}

function time(label: string, updates: Uint8Array[], run: (doc: Y.Doc, u: Uint8Array) => void): void {
  // A copy of `base` (same struct ids), as the server holds it: the updates build on it.
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
  for (let i = 0; i < 3; i++) run(doc, updates[i]); // warm-up (and the shadow's first build)
  const t0 = performance.now();
  for (let i = 3; i < updates.length; i++) run(doc, updates[i]);
  const ms = (performance.now() - t0) / (updates.length - 3);
  console.log(`${label.padEnd(34)} ${ms.toFixed(3)} ms/update`);
}

const base = fullDoc();
console.log(`document at the limits: ${Y.encodeStateAsUpdate(base).byteLength.toLocaleString()} bytes; valid: ${validateRoomDoc(base, RES) ?? 'yes'}`);
let t = performance.now();
for (let i = 0; i < 20; i++) validateRoomDoc(base, RES);
console.log(`${'full validation'.padEnd(34)} ${((performance.now() - t) / 20).toFixed(3)} ms`);
t = performance.now();
for (let i = 0; i < 5; i++) new UpdateProbe(base).check(new Uint8Array([0, 0]), () => null);
console.log(`${'shadow (re)build'.padEnd(34)} ${((performance.now() - t) / 5).toFixed(3)} ms`);

for (const kind of ['move', 'stroke', 'settings'] as const) {
  const updates = clientUpdates(base, kind);
  console.log(`-- ${kind} (${updates[5].byteLength} B update)`);
  time('apply only (no check)', updates, (doc, u) => Y.applyUpdate(doc, u));
  const probes = new WeakMap<Y.Doc, UpdateProbe>();
  time('shadow probe + apply', updates, (doc, u) => {
    let p = probes.get(doc);
    if (!p) probes.set(doc, (p = new UpdateProbe(doc)));
    const reason = p.check(u, (shadow, touched) => validateRoomDoc(shadow, RES, touched));
    if (reason) throw new Error(reason);
    Y.applyUpdate(doc, u);
    if (doc.store.pendingStructs) throw new Error('bench bug: the update did not apply');
  });
  if (kind === 'move') {
    time('fresh copy per update + apply', updates.slice(0, 23), (doc, u) => {
      const probe = new Y.Doc();
      Y.applyUpdate(probe, Y.encodeStateAsUpdate(doc));
      Y.applyUpdate(probe, u);
      const reason = validateRoomDoc(probe, RES);
      probe.destroy();
      if (reason) throw new Error(reason);
      Y.applyUpdate(doc, u);
    });
  }
}
