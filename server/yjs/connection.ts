/**
 * Handles one websocket speaking the y-websocket protocol against a SharedDoc. A read-only connection may
 * ask for the document (sync step 1) and publish presence, but its document updates are dropped here:
 * this is where a watcher's edits are refused.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { WebSocket, RawData } from 'ws';
import { MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_SYNC, encodeAwareness, encodeSyncStep1 } from './messages.js';
import { send, type SharedDoc } from './shared-doc.js';

/** A peer that sends no pong within this long is considered gone. */
const PING_INTERVAL_MS = 30_000;

export interface ConnectionOptions {
  readOnly: boolean;
  /** Called when a read-only peer tried to write (for logs and tests). */
  onRefusedWrite?: () => void;
  onClose?: () => void;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function attachConnection(doc: SharedDoc, ws: WebSocket, opts: ConnectionOptions): void {
  ws.binaryType = 'nodebuffer';
  doc.conns.set(ws, { readOnly: opts.readOnly, clientIds: new Set() });

  ws.on('message', (data) => {
    try {
      handleMessage(doc, ws, toBytes(data), opts);
    } catch (err) {
      // A malformed message ends that connection, never the server.
      console.error(`[yjs] bad message on ${doc.name}:`, (err as Error).message);
      ws.close();
    }
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
    doc.removeConnection(ws);
    opts.onClose?.();
  });

  // Start the handshake: our state vector, then everyone's presence.
  send(ws, encodeSyncStep1(doc));
  const states = [...doc.awareness.getStates().keys()];
  if (states.length > 0) send(ws, encodeAwareness(doc.awareness, states));
}

function handleMessage(doc: SharedDoc, ws: WebSocket, message: Uint8Array, opts: ConnectionOptions): void {
  const decoder = decoding.createDecoder(message);
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MESSAGE_SYNC: {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      if (opts.readOnly) {
        const syncType = decoding.readVarUint(decoder);
        if (syncType === syncProtocol.messageYjsSyncStep1) syncProtocol.readSyncStep1(decoder, encoder, doc);
        // Step 2 and updates carry document changes. An empty update (2 bytes) is just a handshake reply.
        else if (decoding.readVarUint8Array(decoder).byteLength > 2) opts.onRefusedWrite?.();
      } else {
        // The connection is the transaction origin, so hooks can tell who changed what.
        syncProtocol.readSyncMessage(decoder, encoder, doc, ws);
      }
      if (encoding.length(encoder) > 1) send(ws, encoding.toUint8Array(encoder));
      break;
    }
    case MESSAGE_AWARENESS:
      awarenessProtocol.applyAwarenessUpdate(doc.awareness, decoding.readVarUint8Array(decoder), ws);
      break;
    case MESSAGE_QUERY_AWARENESS:
      send(ws, encodeAwareness(doc.awareness, [...doc.awareness.getStates().keys()]));
      break;
    default:
      // Auth messages and unknown types: nothing to do.
      break;
  }
}
