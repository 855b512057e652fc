/** Identifiers. Tokens are the only credential a link carries, so they come from the CSPRNG with 144 bits. */
import { randomBytes } from 'node:crypto';

/** A short public room id (shown in the UI, used as the Yjs document name). */
export function newRoomId(): string {
  return randomBytes(9).toString('base64url');
}

/** An unguessable link token (edit or view). */
export function newToken(): string {
  return randomBytes(18).toString('base64url');
}

export function newRunId(): string {
  return randomBytes(6).toString('base64url');
}

/** Tokens are base64url of fixed length; anything else is rejected before a database look-up. */
export function looksLikeToken(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{24}$/.test(value);
}
