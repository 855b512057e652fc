/**
 * Socket.IO traffic in its wire format, engine.io v4 around socket.io v5 packets: `4` (message) + `2` (event)
 * + optional namespace and ack id + a JSON array, binary events with placeholders and attachments, and the
 * other packet types, from correct to corrupted. Payloads are the real requests with mutated fields, random
 * JSON, and JSON texts that parse into values no client library would send (1e999, __proto__, deep nesting).
 */
import { type Rng, mutateText, pick, randomBytes, size } from './fuzz-random.js';
import { socketTokens, type FuzzTargets } from './targets.js';

/** An engine.io packet for the websocket transport: text, or a binary attachment. */
export type EnginePacket = string | Uint8Array;

const EVENTS = [
  'models:list', 'models:rescan', 'seed:preview', 'room:create', 'room:join', 'room:leave', 'rooms:describe', 'run:start', 'run:stop',
  'history:list', 'history:step', 'history:fork', 'history:undo', 'history:redo', 'room:rotate-links',
];
const ODD_EVENTS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'connect', 'disconnect', 'disconnecting', 'error', 'newListener', 'removeListener', '', 'x'.repeat(2000)];

function jsonValue(rng: Rng, depth = 0): string {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0: return String(rng.int(2 ** 31));
    case 1: return pick(rng, ['1e999', '-1e999', '-0', '1.5', '4294967296', '9007199254740993', '-1']);
    case 2: return JSON.stringify(mutateText(rng, pick(rng, ['', 'a', '#3366ff', 'tiny', 'edit', 'both'])));
    case 3: return pick(rng, ['true', 'false', 'null']);
    case 4: return JSON.stringify('x'.repeat(size(rng, 150_000)));
    case 5: return '['.repeat(1 + rng.int(5000)) + ']'.repeat(rng.chance(0.8) ? 1 + rng.int(5000) : 0);
    case 6: return `[${Array.from({ length: rng.int(4) }, () => jsonValue(rng, depth + 1)).join(',')}]`;
    case 7: return '{"__proto__":{"ok":true,"toString":1},"constructor":{"prototype":{"polluted":1}}}';
    default: {
      const keys = ['token', 'user', 'id', 'name', 'color', 'runId', 'step', 'which', 'title', 'model', 'seed', 'tokens', '__proto__'];
      return `{${Array.from({ length: rng.int(4) }, () => `${JSON.stringify(pick(rng, keys))}:${jsonValue(rng, depth + 1)}`).join(',')}}`;
    }
  }
}

/** A plausible payload for `event`, then maybe one field swapped for a random value. */
function payloadFor(rng: Rng, event: string, t: FuzzTargets): string[] {
  const tok = () => JSON.stringify(pick(rng, socketTokens(t)));
  const user = () => JSON.stringify({ id: `fuzz-${rng.int(5)}`, name: pick(rng, ['f', '\u202emallory', 'a'.repeat(70)]), color: pick(rng, ['#123456', 'red']) });
  const runStep = () => `{"runId":${JSON.stringify(pick(rng, ['x', '0'.repeat(33), ...t.runIds]))},"step":${pick(rng, ['0', '1', '2', '-1', '1e999', '1000001', '0.5'])}}`;
  const valid: Record<string, () => string> = {
    'seed:preview': () => `{"model":"tiny","seed":${pick(rng, ['1', '-1', '4294967296', '1.5'])}}`,
    'room:create': () => `{"title":${JSON.stringify(mutateText(rng, 'fuzz'))},"model":${JSON.stringify(pick(rng, ['tiny', 'nope', '../x']))},"seed":${rng.int(10)}}`,
    'room:join': () => `{"token":${tok()},"user":${user()}}`,
    'rooms:describe': () => `{"tokens":[${Array.from({ length: rng.int(60) }, tok).join(',')}]}`,
    'room:rotate-links': () => `{"which":${JSON.stringify(pick(rng, ['edit', 'view', 'both', 'all']))}}`,
    'history:step': runStep,
    'history:fork': runStep,
  };
  const args = Object.hasOwn(valid, event) ? [valid[event]()] : [];
  if (rng.chance(0.3)) args[rng.int(args.length + 1)] = jsonValue(rng);
  if (rng.chance(0.1)) args.push(jsonValue(rng));
  return args;
}

/** An event packet in correct framing, its name and payload from eventFor/payloadFor: it reaches a handler. */
function eventPacket(rng: Rng, t: FuzzTargets, nsp = '', ack = String(rng.int(1000))): string {
  const event = rng.chance(0.85) ? pick(rng, EVENTS) : pick(rng, ODD_EVENTS);
  return `2${nsp}${ack}[${[JSON.stringify(event), ...payloadFor(rng, event, t)].join(',')}]`;
}

/** One socket.io packet inside an engine.io message (`4...`). */
function socketIoPacket(rng: Rng, t: FuzzTargets): string {
  const nsp = rng.chance(0.9) ? '' : `${pick(rng, ['/admin', '/x', '/', '/'.repeat(100)])},`;
  const ack = rng.chance(0.6) ? String(rng.chance(0.9) ? rng.int(1000) : pick(rng, ['99999999999999999999', '-1'])) : '';
  switch (rng.int(10)) {
    case 0: return `0${nsp}${rng.chance(0.5) ? `{"token":${JSON.stringify(pick(rng, socketTokens(t)))}}` : jsonValue(rng)}`;
    case 1: return `1${nsp}`;
    case 2: return `3${nsp}${ack}[${jsonValue(rng)}]`;
    case 3: return `4${nsp}${jsonValue(rng)}`;
    case 4: {
      const n = pick(rng, ['1', '0', '2', '999999']);
      return `5${n}-${nsp}${ack}[${JSON.stringify(pick(rng, EVENTS))},{"_placeholder":true,"num":${pick(rng, ['0', '1', '-1', '"0"'])}}]`;
    }
    case 5: return `${pick(rng, ['6', '7', '9', 'x', ''])}${nsp}${ack}${jsonValue(rng)}`;
    default: return eventPacket(rng, t, nsp, ack);
  }
}

/** A websocket-transport session's packets after the server's open packet: usually a namespace connect first. */
export function socketIoSession(rng: Rng, t: FuzzTargets): EnginePacket[] {
  const packets: EnginePacket[] = [];
  if (rng.chance(0.5)) {
    // Framing right, payloads not: the packets get to the handlers, and a malformed one may end the session.
    packets.push('40');
    for (let k = 1 + rng.int(6); k > 0; k--) packets.push(`4${eventPacket(rng, t)}`);
    if (rng.chance(0.5)) packets.push(`4${socketIoPacket(rng, t)}`);
    return packets;
  }
  if (rng.chance(0.85)) packets.push(rng.chance(0.8) ? '40' : `40{"x":${jsonValue(rng)}}`);
  for (let k = 1 + rng.int(8); k > 0; k--) {
    const r = rng.float();
    if (r < 0.7) packets.push(`4${socketIoPacket(rng, t)}`);
    else if (r < 0.8) packets.push(pick(rng, ['2', '3', '2probe', '5', '6', '1', '0', '7', '']));
    else if (r < 0.9) packets.push(randomBytes(rng, size(rng, 3000)));
    else packets.push(mutateText(rng, `42["room:join",{"token":"${t.calmViewToken}","user":{"id":"u","name":"n","color":"#123456"}}]`));
  }
  return packets;
}

/**
 * Polling POST bodies: engine.io packets joined by the record separator (binary ones base64 with a `b`), or
 * something that only looks like it. A namespace connect goes alone first, as a client waits for its answer.
 */
export function pollingBodies(rng: Rng, t: FuzzTargets): string[] {
  const packets = socketIoSession(rng, t).map((p) => (typeof p === 'string' ? p : `b${Buffer.from(p).toString('base64')}`));
  const connect = packets[0]?.startsWith('40') && rng.chance(0.9) ? [packets.shift()!] : [];
  const body = packets.join('\x1e');
  return [...connect, rng.chance(0.2) ? mutateText(rng, body) : body];
}
