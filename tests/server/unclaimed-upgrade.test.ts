/**
 * A websocket upgrade that no endpoint takes is closed by the server. One left open (the client having sent
 * its FIN, the HTTP server allowing half-open sockets) held a file descriptor for good and kept the server's
 * close() waiting forever: SIGTERM never finished. Found by the raw-protocol fuzzer (seed 936163584).
 */
import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { useServerFixture } from './helpers.js';

const upgrade = (target: string) =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** Sends the request and, if asked, the client's FIN; resolves true when the server ends the connection within `ms`. */
function serverCloses(port: number, request: string, opts: { halfClose: boolean; ms: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, opts.ms);
    const closed = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    };
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('error', closed);
    socket.once('connect', () => (opts.halfClose ? socket.end(request) : socket.write(request)));
  });
}

describe('an upgrade no endpoint takes', () => {
  const fx = useServerFixture();
  for (const target of ['/socket.io?EIO=4&transport=websocket', '/socket.iox', '/elsewhere']) {
    for (const halfClose of [false, true]) {
      it(`is closed by the server (${target}${halfClose ? ', client half-closed' : ''})`, async () => {
        expect(await serverCloses(fx.server.port, upgrade(target), { halfClose, ms: 5000 })).toBe(true);
      });
    }
  }
});
