/**
 * A run's handle moves as a Yjs update, made on a scratch copy of the room's document, so that the update can
 * be stored with the rest of the run's end (or an undo) in one transaction and reach the live document (and
 * its peers) only once that has committed.
 */
import * as Y from 'yjs';
import type { Point } from '../../contract/events.js';
import { moveHandles, SERVER_ORIGIN } from '../../contract/room-doc.js';
import type { DocServer } from '../yjs/doc-server.js';
import type { SharedDoc } from '../yjs/shared-doc.js';

export interface HandleMoves {
  update: Uint8Array;
  /** The client id the update was written as. */
  clientID: number;
}

/**
 * Per live document, a client id free for its next scratch copy: a loaded document's run ends reuse one id
 * rather than adding a client to its state vector (sent with every sync) each time. An id is taken while its
 * update is on its way and given back once the update is in the document; one whose write failed is dropped,
 * since a write reported as failed may still have committed, and its clock must not be used twice.
 */
const freeClients = new WeakMap<Y.Doc, number>();

/** The update that moves these handles in `doc`, or null when it changes nothing. `doc` is left as it is. */
export function handleMoves(doc: Y.Doc, moves: { id: string; handle: Point }[]): HandleMoves | null {
  const scratch = new Y.Doc();
  const free = freeClients.get(doc);
  if (free !== undefined) {
    freeClients.delete(doc);
    scratch.clientID = free;
  }
  try {
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(doc));
    const updates: Uint8Array[] = [];
    scratch.on('update', (u: Uint8Array) => updates.push(u));
    moveHandles(scratch, moves);
    if (updates.length === 0) {
      if (free !== undefined) freeClients.set(doc, free);
      return null;
    }
    return { update: updates.length === 1 ? updates[0] : Y.mergeUpdates(updates), clientID: scratch.clientID };
  } finally {
    scratch.destroy();
  }
}

/**
 * Runs `write` (which stores the moves' update with whatever goes with it, in one transaction), then applies
 * the update to the live document. No store of the document runs in between: it would not have the update
 * yet, and would delete the logged copy with the log entries it compacts.
 */
export async function writeThenApply(docs: DocServer, doc: SharedDoc, moves: HandleMoves | null, write: () => Promise<unknown>): Promise<void> {
  await docs.exclusive(doc, async () => {
    await write();
    if (!moves) return;
    Y.applyUpdate(doc, moves.update, SERVER_ORIGIN);
    freeClients.set(doc, moves.clientID);
  });
}
