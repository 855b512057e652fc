/** Raw HTTP over node:net, for requests no HTTP client will send (malformed targets, hand-made upgrades). */
import { connect } from 'node:net';

export interface RawResponse {
  /** Everything the server wrote before it closed the connection (or the timeout). */
  text: string;
  /** The status code of the first response line, or null when the server wrote none. */
  status: number | null;
  headers: Record<string, string>;
  /** The server closed the connection (rather than the timeout ending the wait). */
  closed: boolean;
}

/** Sends `request` as is to `url`'s host and port and collects the answer until the server closes (or `timeoutMs`). */
export function rawRequest(url: string, request: string | Buffer, timeoutMs = 3000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const [head] = text.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ text, status: status ? Number(status[1]) : null, headers, closed });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(request);
  });
}

/** A websocket upgrade request for `target` (the key is any valid one: the server must refuse before it matters). */
export function upgradeRequest(target: string, extraHeaders = ''): string {
  return `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extraHeaders}\r\n`;
}

/** A plain GET for `target` that asks the server to close after answering. */
export function getRequest(target: string, extraHeaders = ''): string {
  return `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${extraHeaders}\r\n`;
}
