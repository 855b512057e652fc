/** The y-websocket wire protocol: message type tags and encoders shared by the server's connections. */
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import type * as Y from 'yjs';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

/** Close codes in the 4400 range tell y-websocket clients not to reconnect (Hocuspocus uses the same idea). */
/** An update the document's checks refused (`beforeApplyUpdate`); nothing of it was applied. */
export const CLOSE_INVALID_UPDATE = 4400;
export const CLOSE_UNAUTHORIZED = 4401;
/** The link the connection was opened with is no longer valid (e.g. rotated); see `DocServer.disconnect`. */
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_FOUND = 4404;
export const CLOSE_TOO_MANY = 4429;
export const CLOSE_SERVER_SHUTDOWN = 4503;

/** A websocket close reason holds at most 123 bytes of UTF-8; longer ones are cut at a character boundary. */
export function closeReason(reason: string, maxBytes = 123): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= maxBytes) return reason;
  let end = maxBytes - 3; // room for '...'
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // not inside a multi-byte character
  return new TextDecoder().decode(bytes.subarray(0, end)) + '...';
}

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, MESSAGE_SYNC);
  syncProtocol.writeSyncStep1(enc, doc);
  return encoding.toUint8Array(enc);
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, MESSAGE_SYNC);
  syncProtocol.writeUpdate(enc, update);
  return encoding.toUint8Array(enc);
}

export function encodeAwareness(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  return encoding.toUint8Array(enc);
}
