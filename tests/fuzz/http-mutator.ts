/**
 * Raw HTTP/1.1 requests, well-formed and broken: request lines (method, target, version), headers (missing,
 * repeated, folded, oversized, lying lengths, chunked bodies) and websocket upgrade requests whose targets are
 * mutated versions of the real Yjs and Socket.IO paths.
 */
import { type Rng, concat, mutateBytes, mutateText, pick, randomBytes, size } from './fuzz-random.js';
import type { RawStep } from './raw-socket.js';
import { wsFrame } from './raw-socket.js';
import { anyTokens, type FuzzTargets } from './targets.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';

export interface FuzzRequest {
  /** Printable summary (the start of what was sent) for failure reports. */
  describe: string;
  steps: RawStep[];
  pauseReading?: boolean;
  /** Keep the connection open to the end of the run if the server does (the server must still stop). */
  linger?: boolean;
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'get', 'G ET', 'PRI', ''];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1x', 'HTTP/', 'http/1.1', ''];

/** Real paths first: mutations of them reach the route and upgrade code, not only the parser. */
function baseTargets(rng: Rng, t: FuzzTargets): string[] {
  const tok = pick(rng, anyTokens(t));
  const room = pick(rng, [t.calmRoomId, t.fuzzRoomId, 'no-such-room']);
  const run = pick(rng, ['x', '0'.repeat(40), ...t.runIds, ...t.runIds]);
  return [
    '/',
    '/api/health',
    `/api/rooms/${tok}/image`,
    `/api/rooms/${tok}/latent`,
    `/api/rooms/${tok}/dragbench/points.json`,
    `/api/rooms/${tok}/dragbench/mask.png`,
    `/api/rooms/${tok}/runs/${run}/steps/${pick(rng, ['0', '1', '99999999999999999999999', '-1', '1e3'])}/frame.png`,
    `/api/rooms/${tok}/runs/${run}/animation.gif?delay=${pick(rng, ['-1', 'NaN', '1e309', '10'])}`,
    `/api/rooms/${tok}/runs/${run}/dragbench/original.png`,
    '/socket.io/?EIO=4&transport=polling',
    `/socket.io/?EIO=${pick(rng, ['3', '4', '5', 'x'])}&transport=${pick(rng, ['polling', 'websocket', 'flashsocket', ''])}&sid=${pick(rng, ['', 'abc', 'A'.repeat(100)])}`,
    `/yjs/${room}?token=${tok}`,
    `/yjs/${room}`,
    '/yjs',
    '/yjs/',
    '*',
    'http://127.0.0.1/api/health',
    '//evil/api/health',
    `/r/${tok}`,
  ];
}

function target(rng: Rng, t: FuzzTargets, bases = baseTargets(rng, t)): string {
  const base = pick(rng, bases);
  if (rng.chance(0.3)) return base;
  // Half the time only the path is mutated, so the query string keeps the request looking real.
  const q = base.indexOf('?');
  return q > 0 && rng.chance(0.5) ? mutateText(rng, base.slice(0, q)) + base.slice(q) : mutateText(rng, base);
}

function headerLines(rng: Rng, bodyLength: number): string[] {
  const lines = ['Host: 127.0.0.1'];
  if (rng.chance(0.3)) lines.push(`Content-Length: ${pick(rng, [String(bodyLength), String(bodyLength + 5), '-1', '99999999999999999999', 'abc', '0, 5'])}`);
  if (rng.chance(0.15)) lines.push(`Transfer-Encoding: ${pick(rng, ['chunked', 'gzip, chunked', 'identity', 'chunked, chunked'])}`);
  if (rng.chance(0.15)) lines.push('Host: other');
  if (rng.chance(0.1)) lines.push(' folded continuation');
  if (rng.chance(0.1)) lines.push('NoColonHere');
  if (rng.chance(0.1)) lines.push(`X-Big: ${'a'.repeat(size(rng, 20_000))}`);
  if (rng.chance(0.2)) lines.push(`X-Forwarded-For: ${pick(rng, ['1.2.3.4', 'garbage', '1.2.3.4, ::1', '', '%00'])}`);
  if (rng.chance(0.2)) lines.push(`Cookie: ${mutateText(rng, 'a=b; c=d')}`);
  if (rng.chance(0.1)) lines.push(`${mutateText(rng, 'X-Header')}: ${mutateText(rng, 'value')}`);
  if (rng.chance(0.1)) lines.push('Expect: 100-continue');
  if (rng.chance(0.1)) lines.push('Connection: keep-alive');
  return lines;
}

function encodeText(rng: Rng, text: string): Uint8Array {
  return Buffer.from(text, rng.chance(0.5) ? 'utf8' : 'latin1');
}

const printable = (bytes: Uint8Array) => JSON.stringify(Buffer.from(bytes.subarray(0, 160)).toString('latin1'));

/** One HTTP request (or two pipelined), possibly with a body, possibly cut off or corrupted on the wire. */
export function httpRequest(rng: Rng, t: FuzzTargets): FuzzRequest {
  const body = rng.chance(0.3) ? (rng.chance(0.5) ? randomBytes(rng, size(rng, 5000)) : Buffer.from('4\r\nwiki\r\nzz\r\n\r\n')) : new Uint8Array();
  const head = `${pick(rng, METHODS)} ${target(rng, t)} ${pick(rng, VERSIONS)}\r\n${headerLines(rng, body.length).join('\r\n')}\r\n\r\n`;
  let bytes = concat(encodeText(rng, head), body);
  if (rng.chance(0.15)) bytes = mutateBytes(rng, bytes);
  if (rng.chance(0.1)) bytes = concat(bytes, bytes);
  const steps: RawStep[] = [];
  if (rng.chance(0.2)) {
    // Sent in pieces: parsers must keep state across reads.
    const cut = rng.int(bytes.length + 1);
    steps.push({ bytes: bytes.subarray(0, cut) }, { bytes: bytes.subarray(cut), delayMs: 1 + rng.int(30) });
  } else steps.push({ bytes });
  return { describe: `http ${printable(bytes)}`, steps };
}

/**
 * A websocket upgrade with a mutated target (Yjs and Socket.IO paths first) and sometimes broken handshake
 * headers; once written, a few raw frames follow: valid binary, bad opcodes, reserved bits, lying lengths.
 */
export function upgradeRequest(rng: Rng, t: FuzzTargets): FuzzRequest {
  const room = pick(rng, [t.calmRoomId, t.fuzzRoomId]);
  const tok = pick(rng, anyTokens(t));
  const bases = [`/yjs/${room}?token=${tok}`, `/yjs/${room}`, '/socket.io/?EIO=4&transport=websocket', `/yjs/${encodeURIComponent(room)}%2F..?token=${tok}`, '/other'];
  const path = target(rng, t, bases);
  const headers = [
    'Host: 127.0.0.1',
    `Upgrade: ${pick(rng, ['websocket', 'websocket', 'WebSocket', 'h2c', ''])}`,
    `Connection: ${pick(rng, ['Upgrade', 'Upgrade', 'keep-alive, Upgrade', 'close'])}`,
    `Sec-WebSocket-Key: ${pick(rng, ['dGhlIHNhbXBsZSBub25jZQ==', 'dGhlIHNhbXBsZSBub25jZQ==', 'short', ''])}`,
    `Sec-WebSocket-Version: ${pick(rng, ['13', '13', '8', 'x'])}`,
  ];
  if (rng.chance(0.2)) headers.push(`Sec-WebSocket-Extensions: ${pick(rng, ['permessage-deflate', 'permessage-deflate; client_max_window_bits=99', 'x;;;'])}`);
  // How a Yjs client carries its token (protocol/yjs-auth.ts), sometimes mangled.
  if (rng.chance(0.7)) {
    const offer = yjsProtocols(tok).join(', ');
    headers.push(`Sec-WebSocket-Protocol: ${rng.chance(0.3) ? mutateText(rng, offer) : offer}`);
  }
  if (rng.chance(0.1)) headers.splice(rng.int(headers.length), 1);
  const request = encodeText(rng, `GET ${path} ${pick(rng, ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'])}\r\n${headers.join('\r\n')}\r\n\r\n`);
  const steps: RawStep[] = [{ bytes: request }];
  for (let k = rng.int(4); k > 0; k--) {
    const payload = randomBytes(rng, size(rng, 2000));
    const frame = pick(rng, [
      () => wsFrame(2, payload),
      () => wsFrame(1, payload),
      () => wsFrame(rng.int(16), payload, { rsv: rng.int(8) }),
      () => wsFrame(2, payload, { fin: false }),
      () => wsFrame(2, payload, { mask: false }),
      () => wsFrame(2, payload, { claimedLength: rng.chance(0.5) ? payload.length + 1 + rng.int(100) : 2 ** 40 }),
      () => wsFrame(9, payload.subarray(0, 200)),
      () => wsFrame(8, payload.subarray(0, 2 + rng.int(10))),
    ])();
    steps.push({ bytes: frame, delayMs: rng.int(20) });
  }
  return { describe: `upgrade ${printable(request)}`, steps, pauseReading: rng.chance(0.1), linger: rng.chance(0.2) };
}
