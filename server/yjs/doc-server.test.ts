/**
 * DocServer's connection phase: what happens between a socket opening and its document being attached, with a
 * real HTTP server and real websockets. The auth hook can be held open to line the races up.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DocServer } from './doc-server.js';
import { CLOSE_FORBIDDEN, CLOSE_INVALID_UPDATE, CLOSE_UNAUTHORIZED } from './messages.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('DocServer connection phase', () => {
  let http: Server;
  let docs: DocServer;
  afterEach(async () => {
    await docs.close();
    await new Promise((r) => http.close(r));
  });

  /** A server whose auth hook reads `valid` first, then waits for `hold` (a slow credential store). */
  async function start(valid: Set<string>, hold: Promise<void>) {
    let calls = 0;
    docs = new DocServer({
      path: '/yjs',
      unloadDelayMs: 10,
      hooks: [
        {
          async onAuthenticate({ params }) {
            calls++;
            const ok = valid.has(params.get('token') ?? '');
            await hold;
            return ok ? { readOnly: false, context: { token: params.get('token') } } : null;
          },
        },
      ],
    });
    http = createServer();
    http.on('upgrade', (req, socket, head) => docs.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/yjs/room?token=`;
    return { url, calls: () => calls };
  }

  const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));

  it('authenticates again when a disconnect overlaps the check, so a just-revoked link does not get in', async () => {
    const valid = new Set(['old']);
    const { open, opened } = gate();
    const { url, calls } = await start(valid, opened);
    const ws = new WebSocket(url + 'old');
    const end = closed(ws);
    await new Promise((r) => ws.once('open', r));
    await expect.poll(calls).toBe(1);
    // The link is revoked (storage first, then the sweep) while its check is still in flight.
    valid.delete('old');
    expect(docs.disconnect('room', (c) => (c as { token?: string }).token === 'old', CLOSE_FORBIDDEN, 'link revoked')).toBe(0);
    open();
    expect(await end).toMatchObject({ code: CLOSE_UNAUTHORIZED });
    expect(calls()).toBe(2);
  });

  it('lets a connection in when an unrelated disconnect overlaps its check (after checking again)', async () => {
    const valid = new Set(['good']);
    const { open, opened } = gate();
    const { url, calls } = await start(valid, opened);
    const ws = new WebSocket(url + 'good');
    await new Promise((r) => ws.once('open', r));
    await expect.poll(calls).toBe(1);
    docs.disconnect('room', () => false, CLOSE_FORBIDDEN, 'nobody');
    open();
    // Attached: the server answers the client's sync step 1 with its own sync step 1 + 2.
    const first = await new Promise<Buffer>((r) => ws.once('message', r));
    expect(first.length).toBeGreaterThan(0);
    expect(calls()).toBe(2);
    ws.close();
  });

  it('closes a client that floods messages before its connection is ready instead of buffering them', async () => {
    const { open, opened } = gate();
    const { url } = await start(new Set(['t']), opened);
    const ws = new WebSocket(url + 't');
    const end = closed(ws);
    await new Promise((r) => ws.once('open', r));
    for (let i = 0; i < 200; i++) ws.send(Uint8Array.of(1, 2, 3));
    expect(await end).toEqual({ code: CLOSE_INVALID_UPDATE, reason: 'too many messages before the document was ready' });
    open();
  });
});
