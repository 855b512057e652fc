/**
 * Reading a request's target (`req.url`) without throwing. Node hands listeners the target exactly as the
 * client wrote it, and `new URL` / `decodeURIComponent` throw on what a client can send (`//x:y`,
 * `http://[::1`, `%E0%A4%A`): every listener goes through these, so bad input is a 400, never an exception.
 */
import type { Duplex } from 'node:stream';
import { securityHeaders } from './security-headers.js';

/** The target as a URL (path and query), or null when it cannot be parsed. */
export function parseRequestTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://x');
  } catch {
    return null;
  }
}

/** A percent-encoded path segment decoded, or null when its escapes are not valid UTF-8. */
export function decodePathSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * Answers an upgrade request that will not be served with a plain HTTP response and closes the socket (no
 * websocket was opened, so a status line is what the client can read).
 */
export function refuseUpgrade(socket: Duplex, status: 400 | 404 | 500, message: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = message + '\n';
  // Destroyed once the response is flushed (as ws's own abortHandshake does): destroying at once could drop it.
  socket.once('finish', () => socket.destroy());
  const headers = Object.entries(securityHeaders()).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${headers}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

const STATUS_TEXT = { 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error' } as const;
