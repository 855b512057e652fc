/**
 * DocServer hooks for rooms: a Yjs connection must carry the room's edit or view token (view: read-only;
 * carried as a subprotocol, see protocol/yjs-auth.ts),
 * and documents are loaded from and stored to the RoomStore: every update is appended to the room's update
 * log as it is applied, the debounced store writes the full state and compacts the log, and loading applies
 * the state and then the log (so a killed server loses no edit).
 */
import * as Y from 'yjs';
import type { DocServerHooks } from '../yjs/doc-server.js';
import { UpdateProbe } from '../yjs/update-probe.js';
import { validateRoomDoc } from '../../contract/doc-validate.js';
import type { RoomRecord, RoomStore } from './room-store.js';
import type { ImageSize, ModelKind } from '../../contract/events.js';

export interface RoomDocHookOptions {
  onRefusedWrite?: (roomId: string) => void;
  /** The room image's width and height in pixels (points must lie inside it); unknown: only finiteness is checked. */
  size?: (room: RoomRecord) => ImageSize;
  /** The room's model kind: a GAN room's document may not hold diffusion settings, nor the reverse. */
  kind?: (room: RoomRecord) => ModelKind;
  /** A client's update was refused (logs). */
  onRefusedUpdate?: (roomId: string, reason: string) => void;
  /** Set when other processes (web nodes of a cluster) load and store the same documents. */
  shared?: SharedDocuments;
}

/**
 * Documents that several web nodes hold at once, each storing the state it has. A node's copy may lack an
 * update another node logged (the relay has not brought it yet, or dropped it in a Redis outage), so a store
 * first applies what storage holds (CRDT merge: nothing is lost, nothing doubles) and writes the union; the
 * read-merge-write runs under a cluster-wide lock per room, so two nodes' writes never interleave.
 */
export interface SharedDocuments {
  /** Whether an update came from another node (already logged there: not appended again). */
  isPeerUpdate(origin: unknown): boolean;
  /** Runs `fn` alone across the cluster for this room. */
  exclusive<T>(roomId: string, fn: () => Promise<T>): Promise<T>;
}

/** The origin of what a shared store merged in from storage: already stored, so not appended to the log. */
const FROM_STORAGE = Symbol('from-storage');

/**
 * Per loaded document: appends run one after another, in update order. Updates that arrive while an append
 * is waiting to run (a burst in one event-loop turn) are merged into one entry.
 */
interface UpdateLog {
  queued: Uint8Array[];
  pending: Promise<void>;
  /** The id of the last entry appended (or loaded). */
  lastId: number;
}

const UNKNOWN_SIZE: ImageSize = { width: 0, height: 0 };

export function roomDocHooks(store: RoomStore, opts: RoomDocHookOptions = {}): DocServerHooks {
  // Update checks: per loaded document, its room's image size and a shadow to probe updates on.
  const sizes = new WeakMap<Y.Doc, ImageSize>();
  const kinds = new WeakMap<Y.Doc, ModelKind>();
  const probes = new WeakMap<Y.Doc, UpdateProbe>();
  const warned = new WeakSet<Y.Doc>();
  const probeOf = (doc: Y.Doc) => {
    let probe = probes.get(doc);
    if (!probe) probes.set(doc, (probe = new UpdateProbe(doc)));
    return probe;
  };
  // Keyed by the Y.Doc: a document unloaded and loaded again starts a fresh entry.
  const logs = new WeakMap<Y.Doc, UpdateLog>();
  const logOf = (doc: Y.Doc) => {
    let log = logs.get(doc);
    if (!log) logs.set(doc, (log = { queued: [], pending: Promise.resolve(), lastId: 0 }));
    return log;
  };
  return {
    // The token comes only from the subprotocol (protocol/yjs-auth.ts): one in the query string would end up in logs.
    async onAuthenticate({ documentName, token }) {
      if (!token) return null;
      const found = await store.findByToken(token);
      if (!found || found.room.id !== documentName) return null;
      return { readOnly: found.role === 'view', context: { token, role: found.role } };
    },
    async onLoadDocument({ documentName, document }) {
      const room = await store.get(documentName);
      if (!room) throw new Error('room not found');
      sizes.set(document, opts.size?.(room) ?? UNKNOWN_SIZE);
      const kind = opts.kind?.(room);
      if (kind) kinds.set(document, kind);
      const stored = await store.loadDocument(documentName);
      // A new room's document stays empty: readSettings() falls back to the defaults on every peer alike.
      if (stored.state) Y.applyUpdate(document, stored.state);
      for (const update of stored.updates) Y.applyUpdate(document, update);
      logOf(document).lastId = stored.lastUpdateId;
    },
    onChange({ documentName, document, update, origin }) {
      if (origin === FROM_STORAGE || opts.shared?.isPeerUpdate(origin)) return;
      const log = logOf(document);
      // An append is already scheduled and has not started: it takes this update too.
      if (log.queued.push(update) > 1) return;
      log.pending = log.pending.then(async () => {
        const batch = log.queued.splice(0);
        try {
          log.lastId = await store.appendDocumentUpdate(documentName, batch.length === 1 ? batch[0] : Y.mergeUpdates(batch));
        } catch (err) {
          // Not fatal: the updates are in the document and go out with its next full store.
          console.error(`[yjs] ${documentName}: could not append an update to the log:`, err);
        }
      });
    },
    async onStoreDocument({ documentName, document }) {
      const log = logOf(document);
      // Let the appends already under way land first, so the store compacts all of them.
      await log.pending;
      const shared = opts.shared;
      if (shared) {
        await shared.exclusive(documentName, async () => {
          const stored = await store.loadDocument(documentName);
          document.transact(() => {
            if (stored.state) Y.applyUpdate(document, stored.state);
            for (const update of stored.updates) Y.applyUpdate(document, update);
          }, FROM_STORAGE);
          // Every logged id <= lastUpdateId was read and applied above; later ones (any node's) stay logged.
          await store.storeDocument(documentName, Y.encodeStateAsUpdate(document), stored.lastUpdateId);
        });
        return;
      }
      // Every logged id <= lastId was applied to the document before this encoding: the state covers it.
      const covers = log.lastId;
      await store.storeDocument(documentName, Y.encodeStateAsUpdate(document), covers);
    },
    onRefusedWrite({ documentName }) {
      opts.onRefusedWrite?.(documentName);
    },
    /** The document with the update applied must pass validateRoomDoc (points, mask, settings within DOC_LIMITS). */
    beforeApplyUpdate({ documentName, document, update }) {
      const size = sizes.get(document) ?? UNKNOWN_SIZE;
      const kind = kinds.get(document);
      return probeOf(document).check(update, (shadow, touched) => {
        const reason = validateRoomDoc(shadow, size, touched, kind);
        if (reason === null) return null;
        // A document stored before these checks may break them already: an update that leaves its first
        // problem as it was is let through, rather than locking everyone out of the room.
        if (validateRoomDoc(document, size, touched, kind) === reason) {
          if (!warned.has(document)) console.warn(`[yjs] ${documentName}: the stored document is not valid (${reason}); updates that leave that as it is are let through`);
          warned.add(document);
          return null;
        }
        return reason;
      });
    },
    onRefusedUpdate({ documentName, document, reason }) {
      // Another hook may have refused an update this one's shadow already holds.
      probes.get(document)?.reset();
      opts.onRefusedUpdate?.(documentName, reason);
    },
  };
}
