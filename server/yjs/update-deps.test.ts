import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { hasPending, missingDependencies } from './update-deps.js';

/** A tiny seeded generator (mulberry32), so a failing case can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Three peers editing a shared array of maps and a map in turn, syncing now and then; every update they make, in order. */
function history(seed: number): Uint8Array[] {
  const rand = rng(seed);
  const peers = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
  const updates: Uint8Array[] = [];
  for (const p of peers) p.on('update', (u: Uint8Array, origin: unknown) => origin !== 'sync' && updates.push(u));
  for (let step = 0; step < 60; step++) {
    const p = peers[Math.floor(rand() * peers.length)];
    const arr = p.getArray<Y.Map<number>>('items');
    const r = rand();
    if (r < 0.3 || arr.length === 0) {
      const m = new Y.Map<number>();
      m.set('v', step);
      arr.insert(Math.floor(rand() * (arr.length + 1)), [m]);
    } else if (r < 0.5) arr.delete(Math.floor(rand() * arr.length), 1);
    else if (r < 0.8) arr.get(Math.floor(rand() * arr.length)).set('v', step);
    else p.getMap<number>('settings').set(`k${step % 3}`, step);
    if (rand() < 0.3) {
      const [a, b] = [peers[Math.floor(rand() * 3)], peers[Math.floor(rand() * 3)]];
      Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), 'sync');
    }
  }
  return updates;
}

describe('missingDependencies', () => {
  it('agrees with Yjs on whether an update would wait for missing changes (seeded histories, updates applied out of order)', () => {
    let missing = 0;
    let complete = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rand = rng(seed * 7919);
      const updates = history(seed);
      const target = new Y.Doc();
      for (const u of updates) {
        // Skip some updates, and sometimes send several merged: what a peer may send, honest or not.
        if (rand() < 0.2) continue;
        const update = rand() < 0.2 ? Y.mergeUpdates([u, updates[Math.floor(rand() * updates.length)]]) : u;
        const probe = new Y.Doc();
        Y.applyUpdate(probe, Y.encodeStateAsUpdate(target));
        Y.applyUpdate(probe, update);
        const predicted = missingDependencies(target, update);
        expect(predicted !== null, `seed ${seed}: ${predicted}`).toBe(hasPending(probe));
        if (predicted === null) {
          Y.applyUpdate(target, update);
          complete++;
        } else missing++;
      }
    }
    // Both kinds occurred.
    expect(missing).toBeGreaterThan(20);
    expect(complete).toBeGreaterThan(100);
  });

  it('accepts an update whose dependencies come in the same update, and names what is missing otherwise', () => {
    const a = new Y.Doc();
    const b = new Y.Doc();
    a.getArray('x').insert(0, [1, 2, 3]);
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const first = Y.encodeStateAsUpdate(b);
    b.getArray('x').delete(1, 1);
    b.getArray('x').insert(2, [4]);
    const both = Y.encodeStateAsUpdate(b);
    const onlyLater = Y.diffUpdate(both, Y.encodeStateVectorFromUpdate(first));
    expect(missingDependencies(new Y.Doc(), both)).toBeNull();
    expect(missingDependencies(new Y.Doc(), onlyLater)).toMatch(/^(changes of client|a deletion of client)/);
  });
});
