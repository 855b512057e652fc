import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { COMPACTION_ORIGIN, compactIfDue, tombstonesIn } from './compact.js';

/** Two replicas taking turns overwriting values in nested maps (a root array of maps and a root map of maps). */
function churned(turns: number): { a: Y.Doc; b: Y.Doc } {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.getArray<Y.Map<unknown>>('list').insert(0, [new Y.Map(), new Y.Map()]);
  a.getMap<Y.Map<unknown>>('named').set('one', new Y.Map());
  a.getMap<number>('plain').set('k', 0);
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  for (let i = 0; i < turns; i++) {
    const [from, to] = i % 2 ? [a, b] : [b, a];
    from.getArray<Y.Map<unknown>>('list').get(i % 2).set('v', i);
    from.getMap<Y.Map<unknown>>('named').get('one')!.set('v', [i, i]);
    Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));
  }
  return { a, b };
}

/** The content, read with the roots' types (a replica that never asked for a root holds it as a bare type). */
const content = (d: Y.Doc) => ({ list: d.getArray('list').toJSON(), named: d.getMap('named').toJSON(), plain: d.getMap('plain').toJSON() });

describe('compactIfDue', () => {
  it('replaces nested entries holding tombstones by copies; content kept, replicas follow, the encoding shrinks', () => {
    const { a, b } = churned(2000);
    // A server-side document knows its roots only from updates: bare types until someone asks for them.
    const server = new Y.Doc();
    Y.applyUpdate(server, Y.encodeStateAsUpdate(a));
    const before = Y.encodeStateAsUpdate(server).byteLength;
    const expected = content(a);
    const origins: unknown[] = [];
    server.on('update', (u: Uint8Array, origin: unknown) => {
      origins.push(origin);
      Y.applyUpdate(b, u);
    });
    expect(compactIfDue(server, { ratio: 0.5, minTombstones: 100 })).toBeGreaterThan(3000);
    expect(origins).toEqual([COMPACTION_ORIGIN]);
    expect(content(server)).toEqual(expected);
    expect(content(b)).toEqual(expected);
    const after = Y.encodeStateAsUpdate(server).byteLength;
    expect(after).toBeLessThan(before / 20);
    for (const m of server.getArray<Y.Map<unknown>>('list').toArray()) expect(tombstonesIn(m)).toBe(0);
    // Nothing left to do: a second call changes nothing.
    expect(compactIfDue(server, { ratio: 0.5, minTombstones: 100 })).toBe(0);
    expect(origins).toHaveLength(1);
  });

  it('leaves a document alone under the policy (too few tombstones, or not the larger share)', () => {
    const { a } = churned(50);
    const before = Y.encodeStateAsUpdate(a);
    expect(compactIfDue(a, { ratio: 0.5, minTombstones: 1000 })).toBe(0);
    expect(compactIfDue(a, { ratio: 0.99, minTombstones: 1 })).toBe(0);
    expect(Buffer.from(Y.encodeStateAsUpdate(a)).equals(Buffer.from(before))).toBe(true);
  });
});
