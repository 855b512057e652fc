/**
 * Handles one websocket speaking the y-websocket protocol against a SharedDoc. A read-only connection may
 * ask for the document (sync step 1) and publish presence, but its document updates are dropped here:
 * this is where a watcher's edits are refused. A writable connection's updates (sync step 2 and updates)
 * go through `checkUpdate` before they are applied; a refused one closes the connection (4400) with the
 * reason and nothing of it is applied. Presence goes through gatePresenceUpdate and a PresencePacer
 * (presence-gate.ts).
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { WebSocket, RawData } from 'ws';
import {
  CLOSE_INVALID_UPDATE, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_SYNC, closeReason, encodeAwareness, encodeSyncStep1,
} from './messages.js';
import { PresencePacer, gatePresenceUpdate } from './presence-gate.js';
import { send, type ConnectionContext, type SharedDoc } from './shared-doc.js';

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
  onClose?: () => void;
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

  ws.on('message', (data) => {
    // Once the server closes a connection (refused update, revoked link, shutdown), frames it had in flight are dropped.
    if (ws.readyState !== ws.OPEN) return;
    guarded(() => handleMessage(doc, ws, toBytes(data), opts, presence));
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
    doc.removeConnection(ws);
    opts.onClose?.();
  });

  // Start the handshake: our state vector, then everyone's presence.
  send(ws, encodeSyncStep1(doc));
  const states = [...doc.awareness.getStates().keys()];
  if (states.length > 0) send(ws, encodeAwareness(doc.awareness, states));
}

/**
 * Gated when it arrives (so the pacer only ever holds this connection's own presence, never an echo of
 * someone else's), applied when the pacer lets it through.
 */
function receivePresence(doc: SharedDoc, ws: WebSocket, update: Uint8Array, presence: PresencePacer): void {
  const info = doc.conns.get(ws);
  if (!info) return;
  const takenElsewhere = (id: number) => {
    const owner = doc.ownerOf(id);
    return owner !== undefined && owner !== ws;
  };
  const gated = gatePresenceUpdate(update, info.clientIds, takenElsewhere);
  if ('refused' in gated) {
    doc.removeConnection(ws);
    ws.close(CLOSE_INVALID_UPDATE, closeReason(gated.refused));
    return;
  }
  if (gated.update) presence.receive(gated.update);
}

function handleMessage(doc: SharedDoc, ws: WebSocket, message: Uint8Array, opts: ConnectionOptions, presence: PresencePacer): void {
  const decoder = decoding.createDecoder(message);
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MESSAGE_SYNC: {
      const syncType = decoding.readVarUint(decoder);
      if (syncType === syncProtocol.messageYjsSyncStep1) {
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MESSAGE_SYNC);
        syncProtocol.readSyncStep1(decoder, encoder, doc);
        send(ws, encoding.toUint8Array(encoder));
        break;
      }
      if (syncType !== syncProtocol.messageYjsSyncStep2 && syncType !== syncProtocol.messageYjsUpdate) throw new Error(`unknown sync message ${syncType}`);
      // Step 2 and updates carry document changes. An empty update (2 bytes) is just a handshake reply.
      const update = decoding.readVarUint8Array(decoder);
      if (update.byteLength <= 2 && update.every((b) => b === 0)) break;
      if (opts.readOnly) {
        opts.onRefusedWrite?.();
        break;
      }
      const refused = opts.checkUpdate?.(update) ?? null;
      if (refused !== null) {
        // Nothing was applied; the peer's local document holds the refused change, so it must not stay connected.
        doc.removeConnection(ws);
        ws.close(CLOSE_INVALID_UPDATE, closeReason(refused));
        opts.onRefusedUpdate?.(refused);
        break;
      }
      // The connection is the transaction origin, so hooks can tell who changed what.
      Y.applyUpdate(doc, update, ws);
      break;
    }
    case MESSAGE_AWARENESS:
      receivePresence(doc, ws, decoding.readVarUint8Array(decoder), presence);
      break;
    case MESSAGE_QUERY_AWARENESS:
      send(ws, encodeAwareness(doc.awareness, [...doc.awareness.getStates().keys()]));
      break;
    default:
      // Auth messages and unknown types: nothing to do.
      break;
  }
}
