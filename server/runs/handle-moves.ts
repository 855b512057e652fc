/**
 * A run's handle moves as a Yjs update, made on a scratch copy of the room's document, so that the update can
 * be stored with the rest of the run's end in one transaction and reach the live document (and its peers)
 * only once that has committed.
 */
import * as Y from 'yjs';
import type { Point } from '../protocol/events.js';
import { moveHandles } from '../protocol/room-doc.js';

/** The update that moves these handles in `doc`, or null when it changes nothing. `doc` is left as it is. */
export function handleMovesUpdate(doc: Y.Doc, moves: { id: string; handle: Point }[]): Uint8Array | null {
  const scratch = new Y.Doc();
  try {
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(doc));
    const updates: Uint8Array[] = [];
    scratch.on('update', (u: Uint8Array) => updates.push(u));
    moveHandles(scratch, moves);
    return updates.length === 0 ? null : updates.length === 1 ? updates[0] : Y.mergeUpdates(updates);
  } finally {
    scratch.destroy();
  }
}
