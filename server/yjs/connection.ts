/**
 * Handles one websocket speaking the y-websocket protocol against a SharedDoc. A read-only connection may
 * ask for the document (sync step 1) and publish presence, but its document updates are dropped here:
 * this is where a watcher's edits are refused. A writable connection's updates (sync step 2 and updates)
 * go through `checkUpdate` before they are applied; a refused one closes the connection (4400) with the
 * reason and nothing of it is applied. Presence goes through gatePresenceUpdate and a PresencePacer
 * (presence-gate.ts).
 *
 * What one connection can make the server do is bounded: every message costs a token of its TokenBucket
 * (over it: close 4420), sync requests are answered at most once per `syncIntervalMs` (a Pacer), and a peer
 * that leaves more than the document's `maxBufferedBytes` unread is closed (4408, SharedDoc.send). An update
 * is refused before any hook sees it when it would take the document past its size cap (4413) or needs
 * changes the document does not have (4400, update-deps.ts): those would wait inside Yjs unchecked.
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { WebSocket, RawData } from 'ws';
import {
  CLOSE_DOCUMENT_TOO_LARGE, CLOSE_INVALID_UPDATE, CLOSE_MESSAGE_RATE, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_SYNC, closeReason,
  encodeAwareness, encodeSyncStep1, encodeSyncStep2,
} from './messages.js';
import { TokenBucket } from '../token-buckets.js';
import { Pacer } from './pacer.js';
import { PresencePacer, gatePresenceUpdate } from './presence-gate.js';
import type { ConnectionContext, SharedDoc } from './shared-doc.js';
import { hasPending, missingDependencies } from './update-deps.js';

/** A peer that sends no pong within this long is considered gone. */
const PING_INTERVAL_MS = 30_000;

export interface ConnectionOptions {
  readOnly: boolean;
  /** From the auth hooks; kept in the connection's ConnectionInfo. */
  context?: ConnectionContext;
  /** Called when a read-only peer tried to write (for logs and tests). */
  onRefusedWrite?: () => void;
  /** Runs before a writable peer's update is applied: a reason refuses it (the connection is closed, 4400). */
  checkUpdate?: (update: Uint8Array) => string | null;
  /** Called after an update was refused and the connection closed. */
  onRefusedUpdate?: (reason: string) => void;
  /** Null when the document stays within its size cap with `update` applied; else the reason (close 4413). */
  checkSize?: (update: Uint8Array) => string | null;
  /** Messages this connection may send per second and in one burst; over it, close 4420. */
  messagesPerSecond?: number;
  messageBurst?: number;
  /** Sync requests (step 1) are answered at most once per this many ms. */
  syncIntervalMs?: number;
  onClose?: () => void;
}

/** Per connection: its pacing, and whether its answer to our sync step 1 has come. */
interface ConnectionState {
  opts: ConnectionOptions;
  presence: PresencePacer;
  syncAnswers: Pacer<Uint8Array>;
  /**
   * A y-websocket client answers our sync step 1 with step 2: everything it has that the document had not
   * then. Updates it sends before that (edits made while it reconnects) may build on its offline edits, which
   * only that step 2 brings; they are not applied but are not refused either, as the step 2 carries them too.
   */
  sentStep2: boolean;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function attachConnection(doc: SharedDoc, ws: WebSocket, opts: ConnectionOptions): void {
  ws.binaryType = 'nodebuffer';
  doc.conns.set(ws, { readOnly: opts.readOnly, context: opts.context ?? {}, clientIds: new Set() });
  // A malformed message ends that connection, never the server.
  const guarded = (what: () => void) => {
    try {
      what();
    } catch (err) {
      console.error(`[yjs] bad message on ${doc.name}:`, (err as Error).message);
      ws.close();
    }
  };
  // Applied later, from a timer: a throw there must end this connection too, not the process.
  const presence = new PresencePacer((update) =>
    guarded(() => doc.conns.has(ws) && ws.readyState === ws.OPEN && awarenessProtocol.applyAwarenessUpdate(doc.awareness, update, ws)),
  );
  const syncAnswers = new Pacer<Uint8Array>(
    (stateVector) => guarded(() => doc.conns.has(ws) && doc.send(ws, encodeSyncStep2(doc, stateVector))),
    opts.syncIntervalMs ?? 0,
  );
  const state: ConnectionState = { opts, presence, syncAnswers, sentStep2: false };
  const budget = new TokenBucket(opts.messagesPerSecond ?? Infinity, opts.messageBurst ?? Infinity);

  ws.on('message', (data) => {
    // Once the server closes a connection (refused update, revoked link, shutdown), frames it had in flight are dropped.
    if (ws.readyState !== ws.OPEN) return;
    if (!budget.take().ok) return closeConnection(doc, ws, CLOSE_MESSAGE_RATE, `too many messages: over ${budget.perSecond} per second`);
    guarded(() => handleMessage(doc, ws, toBytes(data), state));
  });

  let alive = true;
  ws.on('pong', () => (alive = true));
  const ping = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, PING_INTERVAL_MS);
  ping.unref();

  ws.on('close', () => {
    clearInterval(ping);
    presence.stop();
    syncAnswers.stop();
    doc.removeConnection(ws);
    opts.onClose?.();
  });

  // Start the handshake: our state vector, then everyone's presence.
  doc.send(ws, encodeSyncStep1(doc));
  const states = [...doc.awareness.getStates().keys()];
  if (states.length > 0) doc.send(ws, encodeAwareness(doc.awareness, states));
}

/** Drops the connection from the document at once (no more broadcasts, its presence gone) and closes it. */
function closeConnection(doc: SharedDoc, ws: WebSocket, code: number, reason: string): void {
  doc.removeConnection(ws);
  ws.close(code, closeReason(reason));
}

/**
 * Gated when it arrives (so the pacer only ever holds this connection's own presence, never an echo of
 * someone else's), applied when the pacer lets it through.
 */
function receivePresence(doc: SharedDoc, ws: WebSocket, update: Uint8Array, presence: PresencePacer): void {
  const info = doc.conns.get(ws);
  if (!info) return;
  const takenElsewhere = (id: number) => {
    if (doc.remoteClients.has(id)) return true;
    const owner = doc.ownerOf(id);
    return owner !== undefined && owner !== ws;
  };
  const gated = gatePresenceUpdate(update, info.clientIds, takenElsewhere);
  if ('refused' in gated) return closeConnection(doc, ws, CLOSE_INVALID_UPDATE, gated.refused);
  if (gated.update) presence.receive(gated.update);
}

function handleMessage(doc: SharedDoc, ws: WebSocket, message: Uint8Array, state: ConnectionState): void {
  const { opts } = state;
  const decoder = decoding.createDecoder(message);
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MESSAGE_SYNC: {
      const syncType = decoding.readVarUint(decoder);
      if (syncType === syncProtocol.messageYjsSyncStep1) {
        const stateVector = decoding.readVarUint8Array(decoder);
        Y.decodeStateVector(stateVector); // a malformed one ends the connection here, not in the pacer's timer
        state.syncAnswers.receive(stateVector);
        break;
      }
      if (syncType !== syncProtocol.messageYjsSyncStep2 && syncType !== syncProtocol.messageYjsUpdate) throw new Error(`unknown sync message ${syncType}`);
      const isStep2 = syncType === syncProtocol.messageYjsSyncStep2;
      const beforeStep2 = !state.sentStep2;
      if (isStep2) state.sentStep2 = true;
      // Step 2 and updates carry document changes. An empty update (2 bytes) is just a handshake reply.
      const update = decoding.readVarUint8Array(decoder);
      if (update.byteLength <= 2 && update.every((b) => b === 0)) break;
      if (opts.readOnly) {
        opts.onRefusedWrite?.();
        break;
      }
      const tooLarge = opts.checkSize?.(update) ?? null;
      if (tooLarge !== null) return refuse(doc, ws, state, CLOSE_DOCUMENT_TOO_LARGE, tooLarge);
      const missing = missingDependencies(doc, update);
      if (missing !== null) {
        if (!isStep2 && beforeStep2) break;
        return refuse(doc, ws, state, CLOSE_INVALID_UPDATE, `the update depends on changes the server does not have: ${missing}`);
      }
      const refused = opts.checkUpdate?.(update) ?? null;
      // Nothing was applied; the peer's local document holds the refused change, so it must not stay connected.
      if (refused !== null) return refuse(doc, ws, state, CLOSE_INVALID_UPDATE, refused);
      // The connection is the transaction origin, so hooks can tell who changed what.
      Y.applyUpdate(doc, update, ws);
      if (hasPending(doc)) {
        // missingDependencies and Yjs disagreed: drop what Yjs kept aside, so it is never stored or sent.
        doc.store.pendingStructs = null;
        doc.store.pendingDs = null;
        return refuse(doc, ws, state, CLOSE_INVALID_UPDATE, 'the update depends on changes the server does not have');
      }
      break;
    }
    case MESSAGE_AWARENESS:
      receivePresence(doc, ws, decoding.readVarUint8Array(decoder), state.presence);
      break;
    case MESSAGE_QUERY_AWARENESS:
      doc.send(ws, encodeAwareness(doc.awareness, [...doc.awareness.getStates().keys()]));
      break;
    default:
      // Auth messages and unknown types: nothing to do.
      break;
  }
}

function refuse(doc: SharedDoc, ws: WebSocket, state: ConnectionState, code: number, reason: string): void {
  closeConnection(doc, ws, code, reason);
  state.opts.onRefusedUpdate?.(reason);
}
