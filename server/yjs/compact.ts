/**
 * Compaction of deleted content. With gc on, Yjs already drops the content of deleted items and merges runs of
 * them, but a deleted item whose parent is alive stays as a tombstone: it holds the position other peers'
 * concurrent edits may refer to. A value overwritten in a Y.Map is such a tombstone, so a point moved ten
 * thousand times by two peers in turn carries ten thousand of them (~9 bytes each). What removes them is
 * deleting their parent: then every item inside becomes a GC range, and consecutive ranges merge into one
 * (one per peer: 180 KB of such tombstones become 0.2 KB).
 *
 * So a compaction replaces each nested entry (a Y.Map or Y.Array inside a root) that holds tombstones by a copy
 * of its current content, in one transaction by the server, at the same place. This is an ordinary Yjs change:
 * connected peers receive it and keep their documents (they gc the same way), and peers that reconnect later
 * merge with it. The price: an edit made concurrently (or offline) inside a replaced entry lands in the deleted
 * original and is lost; compaction therefore runs only when tombstones dominate, when the document is stored
 * (after 2 s without edits, or every 10 s of steady edits). Tombstones directly in a root (a root map's old
 * values, a root array's removed entries) cannot be removed this way; they are not counted.
 */
import * as Y from 'yjs';

/** The transaction origin of a compaction, so hooks can tell it from a peer's edit. */
export const COMPACTION_ORIGIN = Symbol('compaction');

type AnyType = Y.AbstractType<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface CompactionPolicy {
  /** Compact when removable tombstones are more than this share of the document's structs... */
  ratio: number;
  /** ...and at least this many. */
  minTombstones: number;
}

/** Deleted items kept as tombstones inside `type` and its live nested types. */
export function tombstonesIn(type: AnyType): number {
  let n = 0;
  const visit = (item: Y.Item | null, follow: 'left' | 'right') => {
    for (let it = item; it; it = it[follow]) {
      if (it.deleted) n++;
      else if (it.content instanceof Y.ContentType) n += tombstonesIn(it.content.type);
    }
  };
  visit(type._start, 'right');
  for (const item of type._map.values()) visit(item, 'left');
  return n;
}

/** Nested entries of the roots (value and how to replace it), each with its tombstones. */
function nestedEntries(doc: Y.Doc): { tombstones: number; replace: () => void }[] {
  const out: { tombstones: number; replace: () => void }[] = [];
  for (const [name, root] of doc.share) {
    // A root that only a peer's update created is a bare AbstractType: its kind shows in what it holds.
    if (root._map.size > 0) {
      const map: Y.Map<unknown> = root instanceof Y.Map ? root : doc.getMap(name);
      for (const [key, value] of map.entries()) {
        if (value instanceof Y.AbstractType) out.push({ tombstones: tombstonesIn(value), replace: () => map.set(key, value.clone()) });
      }
    } else if (root._start !== null) {
      const arr: Y.Array<unknown> = root instanceof Y.Array ? root : doc.getArray(name);
      arr.forEach((value, index) => {
        if (value instanceof Y.AbstractType) {
          out.push({
            tombstones: tombstonesIn(value),
            replace: () => {
              // Copied first: deleting a type deletes its entries, and a copy of a deleted type is empty.
              const copy = value.clone();
              arr.delete(index, 1);
              arr.insert(index, [copy]);
            },
          });
        }
      });
    }
  }
  return out;
}

function structCount(doc: Y.Doc): number {
  let n = 0;
  for (const structs of doc.store.clients.values()) n += structs.length;
  return n;
}

/**
 * Compacts `doc` when its removable tombstones pass the policy; returns how many were removed (0: nothing
 * done). The entries are replaced back to front, so each index still points at its entry.
 */
export function compactIfDue(doc: Y.Doc, policy: CompactionPolicy): number {
  const entries = nestedEntries(doc).filter((e) => e.tombstones > 0);
  const removable = entries.reduce((sum, e) => sum + e.tombstones, 0);
  if (removable < policy.minTombstones || removable <= policy.ratio * structCount(doc)) return 0;
  doc.transact(() => {
    for (const e of entries.reverse()) e.replace();
  }, COMPACTION_ORIGIN);
  // The tombstones are GC ranges now, but Yjs merges neighbouring ranges only where a transaction deleted
  // something, and these were deleted long ago: merge them all, as loading the document afresh would.
  Y.tryGc(Y.createDeleteSetFromStructStore(doc.store), doc.store, doc.gcFilter);
  return removable;
}
