import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { PRESENCE_LIMITS, PresencePacer, gatePresenceUpdate } from './presence-gate.js';

/** A real awareness update for one client with this state. */
function presence(clientID: number, state: Record<string, unknown> | null): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const a = new awarenessProtocol.Awareness(doc);
  a.setLocalState(state);
  return awarenessProtocol.encodeAwarenessUpdate(a, [clientID]);
}

const nobody = () => false;

/** The client ids an update carries. */
function ids(update: Uint8Array | null): number[] {
  if (!update) return [];
  const doc = new Y.Doc();
  const a = new awarenessProtocol.Awareness(doc);
  a.setLocalState(null);
  const seen: number[] = [];
  a.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => seen.push(...added, ...updated, ...removed));
  awarenessProtocol.applyAwarenessUpdate(a, update, null);
  return seen;
}

function join(...updates: Uint8Array[]): Uint8Array {
  const parts = updates.map((u) => {
    const d = decoding.createDecoder(u);
    const n = decoding.readVarUint(d);
    return { n, rest: u.subarray(d.pos) };
  });
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, parts.reduce((s, p) => s + p.n, 0));
  for (const p of parts) encoding.writeUint8Array(e, p.rest);
  return encoding.toUint8Array(e);
}

describe('gatePresenceUpdate', () => {
  it('passes a cursor through unchanged', () => {
    const u = presence(1, { cursor: { x: 3, y: 4 } });
    expect(gatePresenceUpdate(u, new Set(), nobody)).toEqual({ update: u });
  });

  it('drops entries for ids another connection announced (echoes), keeping the sender’s own', () => {
    const echo = presence(7, { cursor: { x: 1, y: 1 } });
    expect(gatePresenceUpdate(echo, new Set([1]), (id) => id === 7)).toEqual({ update: null });
    const gated = gatePresenceUpdate(join(presence(1, { cursor: { x: 2, y: 2 } }), echo), new Set([1]), (id) => id === 7);
    expect('update' in gated && ids(gated.update)).toEqual([1]);
  });

  it('refuses oversized states and more than the allowed client ids; a removal does not count', () => {
    expect(gatePresenceUpdate(presence(1, { blob: 'x'.repeat(PRESENCE_LIMITS.maxStateBytes) }), new Set(), nobody)).toEqual({ refused: expect.stringMatching(/2048 bytes/) });
    const own = new Set([1, 2, 3, 4]);
    expect(gatePresenceUpdate(presence(4, { cursor: null }), own, nobody)).toHaveProperty('update');
    expect(gatePresenceUpdate(presence(5, { cursor: null }), own, nobody)).toEqual({ refused: expect.stringMatching(/at most 4/) });
    expect(gatePresenceUpdate(presence(5, null), own, nobody)).toHaveProperty('update');
  });

  it('throws on a malformed update or a state that is not JSON (the connection handler closes the sender)', () => {
    expect(() => gatePresenceUpdate(Uint8Array.of(5, 1), new Set(), nobody)).toThrow();
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, 9);
    encoding.writeVarUint(e, 3);
    encoding.writeVarString(e, '{not json');
    expect(() => gatePresenceUpdate(encoding.toUint8Array(e), new Set(), nobody)).toThrow();
  });
});

describe('PresencePacer', () => {
  it('applies the first update at once, coalesces a burst, and applies the newest after the interval', async () => {
    const applied: number[] = [];
    const pacer = new PresencePacer((u) => applied.push(u[0]), 40);
    for (let i = 1; i <= 50; i++) pacer.receive(Uint8Array.of(i));
    expect(applied).toEqual([1]);
    await new Promise((r) => setTimeout(r, 80));
    expect(applied).toEqual([1, 50]);
    pacer.receive(Uint8Array.of(51));
    await new Promise((r) => setTimeout(r, 60));
    expect(applied).toEqual([1, 50, 51]);
  });

  it('drops what is pending when stopped', async () => {
    const applied: number[] = [];
    const pacer = new PresencePacer((u) => applied.push(u[0]), 20);
    pacer.receive(Uint8Array.of(1));
    pacer.receive(Uint8Array.of(2));
    pacer.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(applied).toEqual([1]);
  });
});
