/**
 * y-websocket traffic: sync step 1 with real and broken state vectors, updates made with the app's own editing
 * functions (valid, mutated, or depending on structs the server never saw), awareness updates with odd client
 * ids and states, auth and query messages, unknown types, truncated varints and plain garbage.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { MESSAGE_AUTH, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_SYNC } from '../../server/yjs/messages.js';
import { encodePresenceEntries } from '../../server/yjs/presence-gate.js';
import { addMaskStroke, addPoint, clearMask, clearPoints, updateSettings } from '../../contract/room-doc.js';
import { type Rng, mutateBytes, mutateText, pick, randomBytes, size } from './fuzz-random.js';

const message = (write: (enc: encoding.Encoder) => void) => {
  const enc = encoding.createEncoder();
  write(enc);
  return encoding.toUint8Array(enc);
};

const syncMessage = (kind: number, payload: Uint8Array) =>
  message((enc) => {
    encoding.writeVarUint(enc, MESSAGE_SYNC);
    encoding.writeVarUint(enc, kind);
    encoding.writeVarUint8Array(enc, payload);
  });

/** An update from a scratch document edited the way the app edits, sometimes on top of a part it leaves out. */
function appUpdate(rng: Rng): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = 1 + rng.int(2 ** 30);
  const by = { id: 'fuzz', name: 'fuzz', color: '#123456' };
  const edit = () => {
    const r = rng.int(6);
    const at = (): [number, number] => [rng.int(40) - 4, rng.int(40) - 4];
    if (r === 0) addPoint(doc, at(), by);
    else if (r === 1) addMaskStroke(doc, { mode: pick(rng, ['flexible', 'fixed'] as const), radius: 1 + rng.int(8), points: [...at(), ...at()] });
    else if (r === 2) updateSettings(doc, { maxSteps: 1 + rng.int(3), lr: pick(rng, [0.001, 0.01, 0.5]) });
    else if (r === 3) doc.getMap(pick(rng, ['settings', 'extra'])).set(pick(rng, ['method', 'lr', 'x']), pick(rng, [1, 'x', null, [1, 2]]));
    else if (r === 4) clearPoints(doc);
    else clearMask(doc);
  };
  edit();
  if (!rng.chance(0.25)) return Y.encodeStateAsUpdate(doc);
  // Missing dependencies: send only what came after a state the server never received.
  const before = Y.encodeStateVector(doc);
  edit();
  return Y.encodeStateAsUpdate(doc, before);
}

function awarenessMessage(rng: Rng): Uint8Array {
  const states = Array.from({ length: rng.chance(0.9) ? 1 + rng.int(3) : rng.int(50) }, () => ({
    clientId: pick(rng, [rng.int(2 ** 31), 0, 2 ** 53 - 1, 4294967295]),
    clock: pick(rng, [0, 1, rng.int(1000), 2 ** 32]),
    state: pick(rng, [
      () => JSON.stringify({ user: { name: 'fuzz', color: '#123456' }, cursor: [rng.int(32), rng.int(32)] }),
      () => 'null',
      () => '{"x":' + '['.repeat(size(rng, 3000)),
      () => JSON.stringify({ big: 'x'.repeat(size(rng, 10_000)) }),
      () => mutateText(rng, '{"user":{"name":"a"}}'),
    ])(),
  }));
  return message((enc) => {
    encoding.writeVarUint(enc, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(enc, encodePresenceEntries(states));
  });
}

/** One y-websocket message (binary), or now and then a text frame; the caller sends it over a real websocket. */
export function yjsMessage(rng: Rng): Uint8Array | string {
  switch (rng.int(12)) {
    case 0: return message((enc) => {
      encoding.writeVarUint(enc, MESSAGE_SYNC);
      syncProtocol.writeSyncStep1(enc, new Y.Doc());
    });
    case 1: return syncMessage(syncProtocol.messageYjsSyncStep1, rng.chance(0.5) ? randomBytes(rng, size(rng, 200)) : Uint8Array.of(1, rng.int(128), 200, 200, 200, 200, 15));
    case 2:
    case 3: return syncMessage(pick(rng, [syncProtocol.messageYjsSyncStep2, syncProtocol.messageYjsUpdate]), appUpdate(rng));
    case 4: return syncMessage(syncProtocol.messageYjsUpdate, mutateBytes(rng, appUpdate(rng)));
    case 5: return mutateBytes(rng, syncMessage(syncProtocol.messageYjsUpdate, appUpdate(rng)));
    case 6:
    case 7: return awarenessMessage(rng);
    case 8: return message((enc) => {
      encoding.writeVarUint(enc, pick(rng, [MESSAGE_AUTH, MESSAGE_QUERY_AWARENESS, 4, 99, 2 ** 31]));
      encoding.writeVarString(enc, mutateText(rng, 'permission-denied'));
    });
    case 9: return pick(rng, [new Uint8Array(), Uint8Array.of(0), Uint8Array.of(0, 0), Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80), Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0x0f)]);
    case 10: return mutateText(rng, 'hello');
    default: return randomBytes(rng, size(rng, 4000));
  }
}

/** A connection's worth of messages: usually a sync request first, as a real client opens. */
export function yjsSession(rng: Rng): (Uint8Array | string)[] {
  const syncStep1 = message((enc) => {
    encoding.writeVarUint(enc, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(enc, new Y.Doc());
  });
  // Now and then a burst of tiny sync requests, each of which may be answered with the whole document.
  if (rng.chance(0.08)) return Array.from({ length: 20 + rng.int(300) }, () => syncStep1);
  const out: (Uint8Array | string)[] = rng.chance(0.7) ? [syncStep1] : [];
  for (let k = 1 + rng.int(8); k > 0; k--) out.push(yjsMessage(rng));
  return out;
}
