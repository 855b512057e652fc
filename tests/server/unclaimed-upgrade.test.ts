/**
 * A websocket upgrade that no endpoint takes is answered 404 and closed by the server. One left open held its
 * descriptor for as long as the client liked (even after the client's FIN: the HTTP server allows half-open
 * sockets) and, while the client stayed, kept the server's close() from finishing: SIGTERM never ended it.
 * Found by the raw-protocol fuzzer (seed 936163584 of its first generators).
 */
import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { useServerFixture } from './helpers.js';

const upgrade = (target: string) =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/**
 * Sends the request and, if asked, the client's FIN; resolves with the server's answer once it ends the
 * connection, or null if it has not within `ms`.
 */
function serverCloses(port: number, request: string, opts: { halfClose: boolean; ms: number }): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, opts.ms);
    const closed = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
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
      it(`is answered 404 and closed (${target}${halfClose ? ', client half-closed' : ''})`, async () => {
        const answer = await serverCloses(fx.server.port, upgrade(target), { halfClose, ms: 5000 });
        expect(answer, 'the connection is still open').not.toBeNull();
        expect(answer).toMatch(/^HTTP\/1\.1 404 /);
      });
    }
  }
});
