// `importLpips` (engine/src/import/import-lpips.ts) on torch.save zip fixtures of a reduced-width VGG16
// (tests/fixtures/lpips, made by training/reference/lpips_reference.py): the written file holds exactly the
// reference weights and gives the reference distance; hostile and wrong files refused with a clear message.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointImportError, initBackend, parseSafetensors } from '../../engine/src/index.js';
import { importLpips } from '../../engine/src/import/import-lpips.js';
import { LpipsVgg } from '../../engine/src/invert/lpips.js';

const fixture = (name: string) => new URL(`../fixtures/lpips/${name}`, import.meta.url).pathname;
const SMALL = [8, 16, 16, 32, 32];
const dir = mkdtempSync(path.join(tmpdir(), 'lpips-import-'));

/** A zip archive of stored entries (the CRC is not checked by the reader, so it is left 0). */
function makeZip(entries: Array<[string, Uint8Array]>, method = 0): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, Buffer.from(data));
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const dirBytes = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dirBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dirBytes, end]);
}

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

describe('import-lpips', () => {
  it('writes the reference weights from the two torch.save files, and they give the reference distance', () => {
    const outPath = path.join(dir, 'out', 'lpips-vgg.safetensors');
    const result = importLpips({ linPath: fixture('vgg-small.pth'), vggPath: fixture('vgg16-small.pth'), outPath, widths: SMALL });
    expect(result.tensors).toBe(13 * 2 + 5);
    const got = parseSafetensors(readFileSync(outPath));
    const want = parseSafetensors(readFileSync(fixture('lpips-small.safetensors')));
    expect([...got.tensors.keys()].sort()).toEqual([...want.tensors.keys()].sort());
    for (const [name, t] of want.tensors) {
      expect(got.tensors.get(name)!.shape, name).toEqual(t.shape);
      expect(got.tensors.get(name)!.data, name).toEqual(t.data);
    }
    const expected = parseSafetensors(readFileSync(fixture('expected.safetensors')));
    const net = LpipsVgg.fromBytes(readFileSync(outPath), outPath);
    try {
      const d = tf.tidy(() => {
        const x0 = tf.tensor4d(expected.tensors.get('x0')!.data, [1, 36, 36, 3]);
        const x1 = tf.tensor4d(expected.tensors.get('x1')!.data, [1, 36, 36, 3]);
        return net.distance(x0, x1).dataSync()[0];
      });
      expect(Math.abs(d - expected.tensors.get('distance')!.data[0]) / expected.tensors.get('distance')!.data[0]).toBeLessThan(1e-4);
    } finally {
      net.dispose();
    }
  });

  it("reads torch.save's legacy format (the published files' format) to the same weights", () => {
    const outPath = path.join(dir, 'legacy', 'lpips-vgg.safetensors');
    importLpips({ linPath: fixture('vgg-small-legacy.pth'), vggPath: fixture('vgg16-small-legacy.pth'), outPath, widths: SMALL });
    const got = parseSafetensors(readFileSync(outPath));
    const want = parseSafetensors(readFileSync(fixture('lpips-small.safetensors')));
    expect(got.tensors.size).toBe(want.tensors.size);
    for (const [name, t] of want.tensors) expect(got.tensors.get(name)!.data, name).toEqual(t.data);
    // A legacy file whose last storage is cut short, and one whose magic number is wrong.
    const legacy = readFileSync(fixture('vgg-small-legacy.pth'));
    const run = (lin: string) => () => importLpips({ linPath: lin, vggPath: fixture('vgg16-small-legacy.pth'), outPath: path.join(dir, 'x.safetensors'), widths: SMALL });
    expect(run(write('legacy-cut.pth', legacy.subarray(0, legacy.length - 4)))).toThrow(/storage \w+: 128 bytes at \d+ run past the end of the \d+-byte file/);
    const magic = Buffer.from(legacy);
    magic[5] ^= 0xff;
    expect(run(write('legacy-magic.pth', magic))).toThrow(/not a torch\.save file \(bad magic number\)/);
  });

  it("holds real files to VGG16's widths and says which tensor does not fit", () => {
    const outPath = path.join(dir, 'refused.safetensors');
    expect(() => importLpips({ linPath: fixture('vgg-small.pth'), vggPath: fixture('vgg16-small.pth'), outPath })).toThrow(
      /vgg16-small\.pth: features\.0\.weight is \[8,3,3,3\], LPIPS-VGG16 needs \[64,3,3,3\]/,
    );
    expect(() => importLpips({ linPath: fixture('vgg-small.pth'), outPath, widths: SMALL })).toThrow(/no tensor features\.0\.weight or net\.slice1\.0\.weight \(pass the torchvision VGG16 file with --vgg\)/);
    // The two files swapped: the linear layers are looked for in the lpips file.
    expect(() => importLpips({ linPath: fixture('vgg16-small.pth'), vggPath: fixture('vgg16-small.pth'), outPath, widths: SMALL })).toThrow(/no tensor lin0\.model\.1\.weight/);
    expect(existsSync(outPath)).toBe(false);
  });

  it('refuses hostile files: not a zip, compressed entries, code-executing pickles, entries outside the file', () => {
    const outPath = path.join(dir, 'hostile.safetensors');
    const run = (lin: string) => () => importLpips({ linPath: lin, vggPath: fixture('vgg16-small.pth'), outPath, widths: SMALL });
    expect(run(write('garbage.pth', new Uint8Array(4096).fill(7)))).toThrow(/garbage\.pth: not a torch\.save file \(neither a zip archive nor a pickle\)/);
    expect(run(write('empty.pth', new Uint8Array(0)))).toThrow(/empty\.pth: the file is empty/);
    // Zip's signature and nothing else.
    expect(run(write('pk.pth', Buffer.from('PK\x03\x04' + ' '.repeat(40), 'latin1')))).toThrow(/pk\.pth: not a zip archive \(no end-of-directory record\)/);
    const pkl = readFileSync(fixture('vgg-small.pth'));
    expect(run(write('deflated.pth', makeZip([['a/data.pkl', new Uint8Array(8)]], 8)))).toThrow(/a\/data\.pkl is compressed \(method 8\)/);
    // os.system('touch pwned') as a protocol-0 pickle: GLOBAL is resolved only through the allow-list.
    const evil = new TextEncoder().encode(`cos\nsystem\n(S'touch ${path.join(dir, 'pwned')}'\ntR.`);
    expect(run(write('evil.pth', makeZip([['a/data.pkl', evil]])))).toThrow(CheckpointImportError);
    expect(run(write('evil.pth', makeZip([['a/data.pkl', evil]])))).toThrow(/os\.system/);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(run(write('nopkl.pth', makeZip([['a/other', new Uint8Array(8)]])))).toThrow(/not a torch\.save archive \(0 <name>\/data\.pkl entries/);
    // A storage entry cut short: its elements would be read past what the entry holds.
    const cut = makeZip([
      ['a/data.pkl', new Uint8Array(readZipEntry(pkl, 'vgg-small/data.pkl'))],
      ['a/data/0', new Uint8Array(4)],
    ]);
    expect(run(write('cut.pth', cut))).toThrow(/storage 0 holds 4 bytes, 8 F32 elements need 32/);
    // A directory whose entry offset points past the directory.
    const moved = Buffer.from(makeZip([['a/data.pkl', new Uint8Array(16)]]));
    moved.writeUInt32LE(1 << 30, moved.length - 22 - 46 - 'a/data.pkl'.length + 42);
    expect(run(write('moved.pth', moved))).toThrow(/local header at 1073741824 is not before the central directory/);
    expect(run(write('truncated.pth', pkl.subarray(0, pkl.length - 30)))).toThrow(/not a zip archive|central directory/);
    expect(existsSync(outPath)).toBe(false);
  });
});

/** One stored entry's bytes, found through the central directory (test-side, independent of the reader). */
function readZipEntry(zip: Buffer, name: string): Buffer {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let p = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const n = zip.subarray(p + 46, p + 46 + zip.readUInt16LE(p + 28)).toString();
    const size = zip.readUInt32LE(p + 24);
    const local = zip.readUInt32LE(p + 42);
    if (n === name) return zip.subarray(local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28), local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28) + size);
    p += 46 + zip.readUInt16LE(p + 28) + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  throw new Error(`no ${name}`);
}
