/**
 * Stopping the server does not wait on websocket peers that went silent. Upgraded sockets are no longer the
 * HTTP server's to close, and a peer that never answers the close handshake kept close() (and so SIGTERM)
 * waiting for ws's 30 s close timeout. Found by the raw-protocol fuzzer (lingering upgrade clients).
 */
import { describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { SOCKET_IO_PATH, YJS_PATH } from '../../contract/events.js';
import { startTestServer, tempDir } from './helpers.js';

/** Completes a websocket handshake over a raw socket, then says nothing more (it still reads). */
function silentPeer(port: number, target: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', reject);
    socket.once('connect', () =>
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    );
    socket.once('data', (d: Buffer) => (d.toString('latin1').startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(d.toString('latin1')))));
  });
}

describe('shutdown with silent websocket peers', () => {
  it('close() finishes promptly while a Yjs and a Socket.IO peer never answer the close handshake', async () => {
    const tmp = tempDir();
    const server = await startTestServer(`${tmp.dir}/studio.db`);
    const peers = [await silentPeer(server.port, `${YJS_PATH}/no-such-room`), await silentPeer(server.port, `${SOCKET_IO_PATH}/?EIO=4&transport=websocket`)];
    try {
      const t0 = Date.now();
      const closed = await Promise.race([server.close().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000))]);
      expect(closed, 'close() still waiting after 10 s').toBe(true);
      console.log(`[shutdown] close() with 2 silent peers: ${Date.now() - t0} ms`);
    } finally {
      peers.forEach((p) => p.destroy());
      await server.close();
      tmp.cleanup();
    }
  });
});
