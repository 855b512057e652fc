// Hostile and broken files: each is refused with an error naming the problem, and nothing in them runs.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointImportError, importCheckpoint } from '../../engine/src/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sd-hostile-'));
const fixture = readFileSync(new URL('../fixtures/pickles/sg2-ffhq-256-map8.pkl', import.meta.url));
let n = 0;

async function refused(bytes: Uint8Array | number[], message: RegExp): Promise<void> {
  const file = path.join(dir, `case-${n++}.pkl`);
  writeFileSync(file, Uint8Array.from(bytes));
  const err = await importCheckpoint(file, path.join(dir, `out-${n}`)).catch((e) => e);
  expect(err).toBeInstanceOf(CheckpointImportError);
  expect((err as Error).message).toMatch(message);
  expect(existsSync(path.join(dir, `out-${n}`, 'model.safetensors'))).toBe(false);
}

// A few opcodes, enough to write small pickles by hand.
const ascii = (s: string) => [...Buffer.from(s, 'utf8')];
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const P = {
  proto: (v: number) => [0x80, v],
  global: (m: string, name: string) => [0x63, ...ascii(`${m}\n${name}\n`)],
  str: (s: string) => [0x58, ...u32(Buffer.byteLength(s)), ...ascii(s)],
  int: (v: number) => (v < 2 ** 31 ? [0x4a, ...u32(v)] : [0x8a, 8, ...Buffer.from(new BigInt64Array([BigInt(v)]).buffer)]),
  bytes: (b: number[]) => [0x42, ...u32(b.length), ...b],
  mark: [0x28], tuple: [0x74], reduce: [0x52], stop: [0x2e], none: [0x4e], false: [0x89], emptyDict: [0x7d], setitems: [0x75],
};

/** A legacy torch.save stream of one FloatStorage whose id claims `numel` elements and holds `data` bytes. */
function storageStream(numel: number, data: number[]): number[] {
  const header = [
    ...P.proto(2), 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, ...P.stop,
    ...P.proto(2), 0x4d, 0xe9, 0x03, ...P.stop,
    ...P.proto(2), ...P.emptyDict, ...P.mark, ...P.str('little_endian'), 0x88, ...P.setitems, ...P.stop,
    ...P.proto(2), ...P.mark, ...P.str('storage'), ...P.global('torch', 'FloatStorage'), ...P.str('0'), ...P.str('cpu'), ...P.int(numel), ...P.none, ...P.tuple, 0x51, ...P.stop,
    ...P.proto(2), 0x5d, ...P.str('0'), 0x61, ...P.stop,
  ];
  const count = Buffer.alloc(8);
  count.writeBigInt64LE(BigInt(numel));
  return [...header, ...count, ...data];
}

/** { 'G_ema': _rebuild_tensor_v2(storage, 0, shape, stride, False, None) }: a tensor view over a storage. */
function tensorPickle(stream: number[], shape: number[], stride: number[]): number[] {
  const ints = (xs: number[]) => [...P.mark, ...xs.flatMap(P.int), ...P.tuple];
  return [
    ...P.proto(2), ...P.emptyDict, ...P.mark, ...P.str('G_ema'),
    ...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark,
    ...P.global('torch.storage', '_load_from_bytes'), ...P.mark, ...P.bytes(stream), ...P.tuple, ...P.reduce,
    ...P.int(0), ...ints(shape), ...ints(stride), ...P.false, ...P.none, ...P.tuple, ...P.reduce,
    ...P.setitems, ...P.stop,
  ];
}

describe('hostile and broken checkpoint files', () => {
  it('never runs what a pickle asks for: os.system and builtins.eval are refused by name', async () => {
    const marker = path.join(dir, 'pwned');
    const system = [...P.proto(2), ...P.global('os', 'system'), ...P.mark, ...P.str(`touch ${marker}`), ...P.tuple, ...P.reduce, ...P.stop];
    await refused(system, /refused: the pickle references os\.system, which no StyleGAN checkpoint contains \(opcode at byte 2\)/);
    // Protocol 4 spelling: STACK_GLOBAL from two strings.
    const evalCall = [...P.proto(4), 0x8c, 8, ...ascii('builtins'), 0x8c, 4, ...ascii('eval'), 0x93, ...P.mark, ...P.str(`open('${marker}', 'w')`), ...P.tuple, ...P.reduce, ...P.stop];
    await refused(evalCall, /refused: the pickle references builtins\.eval/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a truncated file at every kind of cut with the byte offset', async () => {
    for (const cut of [0, 1, 2, 100, 5000, 200_000, fixture.length - 1]) {
      await refused(fixture.subarray(0, cut), cut === 0 ? /the file is empty/ : /truncated file: .* at byte \d+/);
    }
  });

  it('refuses bit flips in structure: an opcode, a storage magic number, the G_ema key', async () => {
    const flip = (at: number, mask = 0xff) => {
      const b = Uint8Array.from(fixture);
      b[at] ^= mask;
      return b;
    };
    await refused(flip(2), /(unknown opcode|extension-registry|stack underflow).*at byte 2/);
    const magic = fixture.indexOf(Buffer.from([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46]));
    await refused(flip(magic + 5, 0x01), /torch storage stream.*: bad magic number \(not a torch\.save stream\) \(opcode at byte \d+\)/);
    const key = fixture.indexOf(Buffer.from([0x58, 5, 0, 0, 0, ...ascii('G_ema')])) + 5;
    await refused(flip(key + 1, 0x20), /not a StyleGAN checkpoint: the pickle holds a dict with keys \[G, D_ema|no G_ema network/);
  });

  it('refuses a pickle that is not a StyleGAN checkpoint', async () => {
    const dictOfInts = [...P.proto(2), ...P.emptyDict, ...P.mark, ...P.str('a'), ...P.int(1), ...P.str('b'), ...P.int(2), ...P.setitems, ...P.stop];
    await refused(dictOfInts, /not a StyleGAN checkpoint: the pickle holds a dict with keys \[a, b\], with no G_ema network/);
  });

  it('refuses absurd tensor shapes and storages larger than the file', async () => {
    const small = storageStream(4, new Array(16).fill(0));
    await refused(tensorPickle(small, [2 ** 20, 2 ** 20], [2 ** 20, 1]), /a tensor of shape \[1048576,1048576\] at offset 0 reaches element \d+, past the end of its 4-element storage/);
    await refused(tensorPickle(small, [2 ** 40], [1]), /a tensor shape \[1099511627776\] has a dimension outside 0\.\.2\^31/);
    await refused(tensorPickle(small, [1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1]), /a tensor of rank 9/);
    const huge = storageStream(1e12, new Array(16).fill(0));
    await refused(tensorPickle(huge, [4], [1]), /a storage of 1000000000000 F32 elements \(4000000000000 bytes\) does not fit in the 16 bytes left/);
  });

  it('refuses deep nesting, stack floods, huge memo indices and unknown opcodes', async () => {
    await refused([...P.proto(2), ...new Array(5000).fill(0x28), ...P.stop], /more than 1000 nested MARKs/);
    await refused([...P.proto(2), ...new Array(200_000).fill(0x4e), ...P.stop], /the pickle stack grew past 100000 values/);
    await refused([...P.proto(2), ...P.none, 0x72, 0xff, 0xff, 0xff, 0xff, ...P.stop], /memo index 4294967295 is outside/);
    await refused([...P.proto(2), 0x68, 7, ...P.stop], /memo index 7 was never stored/);
    await refused([...P.proto(2), 0xff], /unknown opcode 0xff \(opcode at byte 2\)/);
    await refused([...P.proto(2), ...P.mark, ...P.str('x'), ...P.tuple, 0x51, ...P.stop], /a persistent id outside a torch storage stream/);
  });
});
