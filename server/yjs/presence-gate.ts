/**
 * Presence (awareness) from one connection, checked and paced before it is applied and relayed to everyone.
 * Presence is not stored, but each update fans out to every peer in the room, so without this one client
 * could flood a room with cursor moves, fill new joiners' handshakes with large states, or overwrite
 * another peer's cursor by announcing its client id.
 *
 * - Entries for client ids that another connection announced are dropped: y-websocket clients echo every
 *   awareness change they receive, so these arrive all the time, and only the owner may change its presence.
 * - A connection announces at most `maxClients` client ids of its own (a browser tab uses one); each state is
 *   at most `maxStateBytes` of JSON. A breach closes the connection (4400).
 * - Updates are applied at most once per `minIntervalMs`; faster ones are coalesced, and the newest is applied
 *   when the interval has passed, so a peer's cursor always ends where it really is.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { Pacer } from './pacer.js';

export const PRESENCE_LIMITS = {
  maxClients: 4,
  maxStateBytes: 2048,
  /** 40 updates per second: smooth cursors, bounded fan-out. */
  minIntervalMs: 25,
} as const;

/** An awareness update's body from raw entries (`state`: the JSON text as sent, not checked here). */
export function encodePresenceEntries(entries: readonly { clientId: number; clock: number; state: string }[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const e of entries) {
    encoding.writeVarUint(encoder, e.clientId);
    encoding.writeVarUint(encoder, e.clock);
    encoding.writeVarString(encoder, e.state);
  }
  return encoding.toUint8Array(encoder);
}

/**
 * The part of an awareness update this connection may apply (re-encoded; null when nothing is left), or why it
 * is refused. `own`: the ids this connection announced; `takenElsewhere`: whether another connection did.
 * Throws on a malformed update (bad encoding or a state that is not JSON).
 */
export function gatePresenceUpdate(
  update: Uint8Array,
  own: ReadonlySet<number>,
  takenElsewhere: (clientId: number) => boolean,
): { update: Uint8Array | null } | { refused: string } {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const kept: { clientId: number; clock: number; state: string }[] = [];
  const ids = new Set(own);
  for (let i = 0; i < count; i++) {
    const entry = { clientId: decoding.readVarUint(decoder), clock: decoding.readVarUint(decoder), state: decoding.readVarString(decoder) };
    if (takenElsewhere(entry.clientId)) continue;
    if (entry.state.length > PRESENCE_LIMITS.maxStateBytes) return { refused: `a presence state is limited to ${PRESENCE_LIMITS.maxStateBytes} bytes` };
    JSON.parse(entry.state); // malformed JSON throws here, while the message is handled, not later from the pacer
    if (entry.state !== 'null') ids.add(entry.clientId);
    kept.push(entry);
  }
  if (ids.size > PRESENCE_LIMITS.maxClients) return { refused: `a connection may announce at most ${PRESENCE_LIMITS.maxClients} presence clients` };
  if (kept.length === 0) return { update: null };
  if (kept.length === count) return { update };
  return { update: encodePresenceEntries(kept) };
}

/** Paces one connection's presence updates: applies at once, or the newest after the interval. */
export class PresencePacer extends Pacer<Uint8Array> {
  constructor(apply: (update: Uint8Array) => void, minIntervalMs: number = PRESENCE_LIMITS.minIntervalMs) {
    super(apply, minIntervalMs);
  }
}
