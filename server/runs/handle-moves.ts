/**
 * A run's handle moves as a Yjs update, made on a scratch copy of the room's document, so that the update can
 * be stored with the rest of the run's end (or an undo) in one transaction and reach the live document (and
 * its peers) only once that has committed.
 */
import * as Y from 'yjs';
import type { Point } from '../protocol/events.js';
import { moveHandles, SERVER_ORIGIN } from '../protocol/room-doc.js';
import type { DocServer } from '../yjs/doc-server.js';
import type { SharedDoc } from '../yjs/shared-doc.js';

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

/**
 * Runs `write` (which stores `update` with whatever goes with it, in one transaction), then applies `update`
 * to the live document. No store of the document runs in between: it would not have the update yet, and
 * would delete the logged copy with the log entries it compacts.
 */
export async function writeThenApply(docs: DocServer, doc: SharedDoc, update: Uint8Array | null, write: () => Promise<unknown>): Promise<void> {
  await docs.exclusive(doc, async () => {
    await write();
    if (update) Y.applyUpdate(doc, update, SERVER_ORIGIN);
  });
}
