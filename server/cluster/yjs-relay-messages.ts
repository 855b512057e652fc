/**
 * What web nodes say to each other about a document, on its Redis channel. Every message names the node
 * that sent it, so a node skips its own (Redis echoes a publish to every subscriber, the publisher included).
 *
 *   update     a document change applied on the sender
 *   awareness  a presence change of the sender's own clients (an awareness update)
 *   sync       the sender's state vector: "send me what I lack, and your clients' presence" (a node that just
 *              loaded the document, or just got its Redis connection back)
 *   answer     to one node: the changes it lacked
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export type RelayMessage =
  | { kind: 'update'; from: string; update: Uint8Array }
  | { kind: 'awareness'; from: string; update: Uint8Array }
  | { kind: 'sync'; from: string; stateVector: Uint8Array }
  | { kind: 'answer'; from: string; to: string; update: Uint8Array };

const KINDS = ['update', 'awareness', 'sync', 'answer'] as const;

export function encodeRelayMessage(m: RelayMessage): Buffer {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, KINDS.indexOf(m.kind));
  encoding.writeVarString(enc, m.from);
  if (m.kind === 'answer') encoding.writeVarString(enc, m.to);
  encoding.writeVarUint8Array(enc, m.kind === 'sync' ? m.stateVector : m.update);
  return Buffer.from(encoding.toUint8Array(enc));
}

/** Throws on a message that is not one of these (a foreign publisher on the channel). */
export function decodeRelayMessage(data: Uint8Array): RelayMessage {
  const dec = decoding.createDecoder(data);
  const kind = KINDS[decoding.readVarUint(dec)];
  if (!kind) throw new Error('unknown relay message kind');
  const from = decoding.readVarString(dec);
  if (kind === 'answer') {
    const to = decoding.readVarString(dec);
    return { kind, from, to, update: decoding.readVarUint8Array(dec) };
  }
  const body = decoding.readVarUint8Array(dec);
  return kind === 'sync' ? { kind, from, stateVector: body } : { kind, from, update: body };
}
