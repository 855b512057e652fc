/**
 * Checks that a room's replicas, its stored document and its run records agree (the fuzz tests' end state).
 * Plain node:assert, so the fuzzer's command-line runner (outside vitest) uses them too.
 */
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { readMask, readPoints, readSettings } from '../../contract/room-doc.js';
import type { RoomStore } from '../../server/rooms/room-store.js';
import type { HistoryStore } from '../../server/rooms/history-store.js';

/** What the app shows of a document: points, mask and settings. Replicas agree when these strings are equal. */
export const docState = (doc: Y.Doc) => JSON.stringify([readPoints(doc), readMask(doc), readSettings(doc)]);

/** The document as stored: the full state, then the update log after it. */
export async function storedDocState(store: RoomStore, roomId: string): Promise<string> {
  const stored = new Y.Doc();
  const { state, updates } = await store.loadDocument(roomId);
  for (const u of [...(state ? [state] : []), ...updates]) Y.applyUpdate(stored, u);
  const out = docState(stored);
  stored.destroy();
  return out;
}

/** Every recorded run is ended with contiguous steps; returns how many there are. */
export async function expectRunsEnded(store: HistoryStore, roomId: string, label: string): Promise<number> {
  const runs = await store.listRuns(roomId);
  for (const run of runs) {
    assert.equal(run.status, 'ended', `${label}: run ${run.id} is ${run.status}`);
    const steps = (await store.listSteps(run.id)).map((s) => s.step);
    assert.deepEqual(steps, steps.map((_, i) => i), `${label}: run ${run.id} has gaps in its steps`);
  }
  return runs.length;
}
