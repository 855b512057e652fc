/**
 * One fuzz action: its input is drawn from the seed up front (so a seed replays the same bytes whatever the
 * timing), then `run` delivers it over loopback within a bounded time and reports what came back.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { SOCKET_IO_PATH, YJS_PATH } from '../../contract/events.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';
import { type Rng, pick, size } from './fuzz-random.js';
import { httpRequest, upgradeRequest, type FuzzRequest } from './http-mutator.js';
import { LOOPBACK, rawExchange, statusOf } from './raw-socket.js';
import { pollingBodies, socketIoSession, type EnginePacket } from './socketio-packets.js';
import { anyTokens, type FuzzTargets } from './targets.js';
import { yjsSession } from './yjs-messages.js';

export type ActionKind = 'http' | 'upgrade' | 'socketio-ws' | 'socketio-polling' | 'yjs';

export interface ActionOutcome {
  /** HTTP status of the (first) answer, when there was one. */
  status?: number;
  /** Websocket close code, when the server closed. */
  closeCode?: number;
  /** Answers to requests (Socket.IO acks): shows the inputs got past the parsers to the handlers. */
  acks?: number;
}

export interface FuzzAction {
  kind: ActionKind;
  describe: string;
  /** `hold` takes connections the action leaves open on purpose; the runner closes them after the server stopped. */
  run(port: number, hold: (socket: Socket) => void): Promise<ActionOutcome>;
}

const short = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s);
const describePacket = (p: EnginePacket | Uint8Array) => (typeof p === 'string' ? JSON.stringify(short(p, 120)) : `<${p.length} bytes ${Buffer.from(p.subarray(0, 12)).toString('hex')}>`);

function raw(kind: ActionKind, req: FuzzRequest, timeoutMs: number): FuzzAction {
  return {
    kind,
    describe: req.describe + (req.linger ? ' (lingers)' : ''),
    run: async (port, hold) => {
      const { answer } = await rawExchange(port, req.steps, { timeoutMs, pauseReading: req.pauseReading, hold: req.linger ? hold : undefined });
      return { status: statusOf(answer) ?? undefined };
    },
  };
}

/**
 * Opens a real websocket, sends `messages` a few ms apart, keeps it open for `lifetimeMs` (answering
 * engine.io pings if asked, or not reading at all as a slow reader), then drops it.
 */
function websocketSession(url: string, messages: (string | Uint8Array)[], opts: { lifetimeMs: number; gapMs: number; waitFirstMessage: boolean; stopReading: boolean; answerPings: boolean; awaitConnect?: boolean; protocols?: string[] }): Promise<ActionOutcome> {
  return new Promise((resolve) => {
    const out: ActionOutcome = {};
    const ws = new WebSocket(url, opts.protocols ?? [], { handshakeTimeout: 2000 });
    let over = false;
    const done = () => {
      if (over) return;
      over = true;
      clearTimeout(deadline);
      ws.terminate();
      resolve(out);
    };
    const deadline = setTimeout(done, opts.lifetimeMs + 2000);
    ws.on('error', done);
    ws.on('unexpected-response', (_req, res) => {
      out.status = res.statusCode;
      done();
    });
    ws.on('close', (code) => {
      if (!over) out.closeCode = code;
      done();
    });
    const send = async () => {
      if (opts.stopReading) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      for (const [i, m] of messages.entries()) {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(m);
        // Socket.IO closes a connection that sends events before its namespace connect is answered (as a
        // real client would never do): wait for the answer, so the packets after it reach the handlers.
        if (i === 0 && opts.awaitConnect && typeof m === 'string' && m.startsWith('40')) {
          await new Promise<void>((ok) => {
            const timer = setTimeout(ok, 1000);
            ws.on('message', (data) => /^4[04]/.test(String(data)) && (clearTimeout(timer), ok()));
          });
        }
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      setTimeout(done, opts.lifetimeMs);
    };
    if (opts.answerPings) ws.on('message', (data, isBinary) => !isBinary && String(data) === '2' && ws.readyState === ws.OPEN && ws.send('3'));
    ws.on('message', (data, isBinary) => !isBinary && String(data).startsWith('43') && (out.acks = (out.acks ?? 0) + 1));
    if (opts.waitFirstMessage) ws.once('message', () => void send());
    else ws.once('open', () => void send());
  });
}

function socketIoWebsocket(rng: Rng, t: FuzzTargets): FuzzAction {
  const packets = socketIoSession(rng, t);
  const opts = { lifetimeMs: rng.int(400), gapMs: rng.int(15), waitFirstMessage: true, stopReading: rng.chance(0.05), answerPings: true, awaitConnect: rng.chance(0.9) };
  return {
    kind: 'socketio-ws',
    describe: `socket.io ws ${packets.map(describePacket).join(' ')}`,
    run: (port) => websocketSession(`ws://${LOOPBACK}:${port}${SOCKET_IO_PATH}/?EIO=4&transport=websocket`, packets, opts),
  };
}

/** Handshake, then per body a POST with the session id the server gave and a GET for the answers. */
function socketIoPolling(rng: Rng, t: FuzzTargets): FuzzAction {
  const bodies = pollingBodies(rng, t);
  const sidSuffix = rng.chance(0.1) ? pick(rng, ['x', '%', '&sid=other']) : '';
  const contentType = pick(rng, ['text/plain;charset=UTF-8', 'application/octet-stream', 'application/json']);
  const request = (method: string, query: string, payload = '') =>
    Buffer.from(`${method} ${SOCKET_IO_PATH}/?EIO=4&transport=polling${query} HTTP/1.1\r\nHost: ${LOOPBACK}\r\nConnection: close\r\n` +
      (method === 'POST' ? `Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n` : '') + `\r\n${payload}`);
  return {
    kind: 'socketio-polling',
    describe: `socket.io polling POST ${bodies.map((b) => JSON.stringify(short(b, 300))).join(' then ')}`,
    run: async (port) => {
      const hello = await rawExchange(port, [{ bytes: request('GET', '') }], { timeoutMs: 1000 });
      const sid = /"sid":"([^"]+)"/.exec(hello.answer.toString('latin1'))?.[1];
      if (!sid) return { status: statusOf(hello.answer) ?? undefined };
      let status: number | undefined;
      for (const body of bodies) {
        const post = await rawExchange(port, [{ bytes: request('POST', `&sid=${sid}${sidSuffix}`, body) }], { timeoutMs: 1000 });
        status = statusOf(post.answer) ?? undefined;
        await rawExchange(port, [{ bytes: request('GET', `&sid=${sid}`) }], { timeoutMs: 300 });
      }
      return { status };
    },
  };
}

function yjs(rng: Rng, t: FuzzTargets): FuzzAction {
  // Mostly a room with one of its own links, so the messages reach the document code.
  const [room, token] = rng.chance(0.8)
    ? pick(rng, [[t.calmRoomId, t.calmEditToken], [t.calmRoomId, t.calmViewToken], [t.fuzzRoomId, t.fuzzEditToken], [t.fuzzRoomId, t.fuzzViewToken]] as const)
    : [pick(rng, [t.calmRoomId, t.fuzzRoomId, 'no-such-room']), pick(rng, anyTokens(t))];
  const messages = yjsSession(rng);
  // The token travels as a subprotocol, as the app sends it; now and then only in the (ignored) query.
  const inQuery = rng.chance(0.1);
  const opts = { lifetimeMs: rng.int(300), gapMs: rng.chance(0.5) ? 0 : rng.int(10), waitFirstMessage: false, stopReading: rng.chance(0.1), answerPings: false, protocols: inQuery ? [] : yjsProtocols(token) };
  return {
    kind: 'yjs',
    describe: `yjs ${room} token${inQuery ? ' (in the query)' : ''} ${token === t.calmEditToken ? 'calm-edit' : token === t.calmViewToken ? 'calm-view' : short(token, 20)}${opts.stopReading ? ' (not reading)' : ''}: ${messages.slice(0, 12).map(describePacket).join(' ')}${messages.length > 12 ? ` ... ${messages.length} messages` : ''}`,
    run: (port) => websocketSession(`ws://${LOOPBACK}:${port}${YJS_PATH}/${encodeURIComponent(room)}${inQuery ? `?token=${encodeURIComponent(token)}` : ''}`, messages, opts),
  };
}

/** The next action of a seed's sequence. Weights favour the protocols with the most server code behind them. */
export function nextAction(rng: Rng, t: FuzzTargets): FuzzAction {
  const r = rng.float();
  if (r < 0.2) return raw('http', httpRequest(rng, t), 150 + size(rng, 400));
  if (r < 0.4) return raw('upgrade', upgradeRequest(rng, t), 150 + size(rng, 400));
  if (r < 0.6) return socketIoWebsocket(rng, t);
  if (r < 0.7) return socketIoPolling(rng, t);
  return yjs(rng, t);
}
