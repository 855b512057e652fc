/**
 * The fuzzer's random choices, all drawn from one seeded Rng (training/faces/prng.ts) so a seed replays the
 * same inputs. Every generator takes the Rng first and draws synchronously: inputs never depend on timing.
 */
import { Rng } from '../../training/faces/prng.js';

export { Rng };

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

/** Mostly small sizes, now and then a large one: parsers break at both ends. */
export function size(rng: Rng, max: number): number {
  return rng.chance(0.85) ? rng.int(Math.min(max, 64) + 1) : rng.int(max + 1);
}

/** One to three byte-level edits of `input` (flip, insert, delete, truncate, duplicate a slice). */
export function mutateBytes(rng: Rng, input: Uint8Array): Uint8Array {
  let out: Uint8Array = Uint8Array.from(input);
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const at = rng.int(out.length + 1);
    switch (rng.int(5)) {
      case 0:
        if (out.length) out[Math.min(at, out.length - 1)] ^= 1 << rng.int(8);
        break;
      case 1:
        out = concat(out.subarray(0, at), randomBytes(rng, 1 + rng.int(4)), out.subarray(at));
        break;
      case 2:
        out = concat(out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + rng.int(4))));
        break;
      case 3:
        out = out.subarray(0, at);
        break;
      default:
        out = concat(out.subarray(0, at), out.subarray(rng.int(out.length + 1), at), out.subarray(at));
    }
  }
  return out;
}

/** Text edits that target URL and header parsers: bad percent escapes, separators, control and non-ASCII characters. */
export function mutateText(rng: Rng, input: string): string {
  const nasties = ['%', '%zz', '%00', '%C0%AF', '%E0%A4%A', '%ff', '%%', '..', '/../', '//', '\\', '?', '#', '&', '=', ' ', '\t', '\0', '\r', '\n', ';', '"', '<', '\u202e', '\u200b', 'é', '\ud800', '%u0041', '@', ':'];
  let out = input;
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const at = rng.int(out.length + 1);
    switch (rng.int(4)) {
      case 0:
        out = out.slice(0, at) + pick(rng, nasties) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + rng.int(6));
        break;
      case 2:
        out = out.slice(0, at) + pick(rng, nasties).repeat(1 + size(rng, 3000)) + out.slice(at);
        break;
      default:
        out = out.slice(0, at) + String.fromCharCode(rng.int(0x100)) + out.slice(at + 1);
    }
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
