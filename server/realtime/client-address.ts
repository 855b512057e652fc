/**
 * The address a Socket.IO connection comes from, the key of every per-address quota. One function so that
 * trusted-proxy handling (X-Forwarded-For from a configured proxy) changes one place.
 */
import type { StudioSocket } from './types.js';

export function clientAddress(socket: StudioSocket): string {
  return socket.handshake.address || 'unknown';
}
