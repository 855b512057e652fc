// DragBench case folders: TS -> folder -> TS, a meta_data.pkl written by Python exactly as DragDiffusion's
// labelling tool writes it, the folder read back by Python's pickle.load, hostile and inconsistent pickles
// refused with the reason, and the two CLI commands.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeMetaData, encodeMetaData, type DragBenchMetaData } from '../../engine/src/diffusion/dragbench-pickle.js';
import { readDragBenchCase, writeDragBenchCase, type DragCase } from '../../engine/src/diffusion/dragbench.js';
import { DragBenchError } from '../../engine/src/diffusion/dragbench-error.js';
import { readDragCaseJson } from '../../engine/src/diffusion/dragbench-json.js';

const run = promisify(execFile);
const bin = new URL('../../engine/bin/stabledrag.mjs', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';

const pythonWithNumpy = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const withPython = pythonWithNumpy ? it : it.skip;
if (!pythonWithNumpy) console.warn(`dragbench.test: ${PYTHON} with numpy is missing; the tests that check against Python's pickle are skipped`);

function python(script: string, ...args: string[]): string {
  return execFileSync(PYTHON, ['-W', 'ignore', '-c', script, ...args], { encoding: 'utf8' });
}

/** A 64x48 gradient image, handles/targets inside, the left half editable. */
function sampleCase(): DragCase {
  const width = 64;
  const height = 48;
  const data = new Uint8ClampedArray(width * height * 4);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data.set([x * 4, y * 5, (x + y) * 2, 255], o);
      mask[y * width + x] = x < 32 ? 1 : 0;
    }
  }
  return {
    image: { width, height, data },
    prompt: 'a photo of a cat',
    points: [
      { handle: [10, 12], target: [20, 14] },
      { handle: [5.5, 40], target: [63, 47] },
    ],
    mask,
  };
}

function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Writes a PNG of the sample image and then runs `body` with numpy in scope to write meta_data.pkl as DragBench does. */
function pythonCase(body: string, imageSize = { width: 64, height: 48 }): string {
  const dir = tempDir('sd-dragbench-py-');
  const png = new PNG({ width: imageSize.width, height: imageSize.height, colorType: 2 });
  png.data.fill(128);
  writeFileSync(path.join(dir, 'original_image.png'), PNG.sync.write(png, { colorType: 2 }));
  python(`import pickle, sys, os\nimport numpy as np\ndir = sys.argv[1]\n${body}`, dir);
  return dir;
}

function expectRefused(f: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    f();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(DragBenchError);
  expect((error as Error).message).toMatch(message);
}

describe('DragBench case folders', () => {
  it('round-trips a case through a folder: image, prompt, points and mask come back as they were', () => {
    const c = sampleCase();
    const dir = tempDir('sd-dragbench-rt-');
    writeDragBenchCase(dir, c);
    for (const f of ['original_image.png', 'user_drag.png', 'meta_data.pkl']) expect(existsSync(path.join(dir, f))).toBe(true);
    const back = readDragBenchCase(dir);
    expect(back.prompt).toBe(c.prompt);
    expect(back.points).toEqual(c.points);
    expect(back.mask).toEqual(c.mask);
    expect(back.image.width).toBe(64);
    expect(back.image.height).toBe(48);
    expect(Buffer.from(back.image.data)).toEqual(Buffer.from(c.image.data));
    // user_drag.png: the handle red, the target blue, the fixed half darkened.
    const drawn = PNG.sync.read(readFileSync(path.join(dir, 'user_drag.png')));
    const px = (x: number, y: number) => [...drawn.data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 3)];
    expect(px(10, 12)).toEqual([255, 0, 0]);
    expect(px(20, 14)).toEqual([0, 0, 255]);
    expect(px(50, 2)).toEqual([140, 7, 73]);
  });

  withPython('writes a meta_data.pkl that Python reads back as the same dict with a uint8 numpy mask', () => {
    const c = sampleCase();
    const dir = tempDir('sd-dragbench-topy-');
    writeDragBenchCase(dir, c);
    const out = python(
      [
        'import pickle, sys, json',
        'import numpy as np',
        "m = pickle.load(open(sys.argv[1], 'rb'))",
        "print(json.dumps({'keys': sorted(m.keys()), 'prompt': m['prompt'], 'points': m['points'], 'dtype': str(m['mask'].dtype),",
        "  'shape': list(m['mask'].shape), 'sum': int(m['mask'].sum()), 'left': int(m['mask'][:, :32].min()), 'right': int(m['mask'][:, 32:].max())}))",
      ].join('\n'),
      path.join(dir, 'meta_data.pkl'),
    );
    expect(JSON.parse(out)).toEqual({
      keys: ['mask', 'points', 'prompt'],
      prompt: 'a photo of a cat',
      points: [[10, 12], [20, 14], [5.5, 40], [63, 47]],
      dtype: 'uint8',
      shape: [48, 64],
      sum: 32 * 48,
      left: 1,
      right: 0,
    });
  });

  withPython("reads a meta_data.pkl written by Python as DragDiffusion's labelling tool saves it (protocols 2 to 5)", () => {
    for (const protocol of [2, 3, 4, 5]) {
      const dir = pythonCase(`
mask = np.zeros((48, 64), dtype=np.float32)
mask[10:20, 5:30] = 1.0
mask = np.uint8(mask > 0)
points = [[12, 15], [25, 18], [3, 40]]
points.append([7, 44])
meta_data = {'prompt': 'a dog on grass', 'points': points, 'mask': mask}
with open(os.path.join(dir, 'meta_data.pkl'), 'wb') as f:
    pickle.dump(meta_data, f, protocol=${protocol})
`);
      const c = readDragBenchCase(dir);
      expect(c.prompt).toBe('a dog on grass');
      expect(c.points).toEqual([
        { handle: [12, 15], target: [25, 18] },
        { handle: [3, 40], target: [7, 44] },
      ]);
      expect(c.mask.reduce((a, b) => a + b, 0)).toBe(10 * 25);
      expect(c.mask[15 * 64 + 10]).toBe(1);
      expect(c.mask[30 * 64 + 10]).toBe(0);
    }
  });

  withPython('accepts an all-zero float32 mask (the tool saves one when nothing was painted), tuples, and 0/255 masks', () => {
    const empty = pythonCase(`
pickle.dump({'prompt': '', 'points': [(1, 2), (3, 4)], 'mask': np.zeros((48, 64), dtype=np.float32)}, open(os.path.join(dir, 'meta_data.pkl'), 'wb'))
`);
    const e = readDragBenchCase(empty);
    expect(e.mask.every((v) => v === 0)).toBe(true);
    expect(e.points).toEqual([{ handle: [1, 2], target: [3, 4] }]);
    const full = pythonCase(`
pickle.dump({'prompt': 'x', 'points': [[1, 2], [3, 4]], 'mask': np.full((48, 64), 255, dtype=np.uint8)}, open(os.path.join(dir, 'meta_data.pkl'), 'wb'))
`);
    expect(readDragBenchCase(full).mask.every((v) => v === 1)).toBe(true);
  });

  withPython('refuses a pickle that would run code, naming the global it references', () => {
    const dir = pythonCase(`
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + os.path.join(dir, 'pwned'),))
pickle.dump({'prompt': 'x', 'points': [[1, 2], [3, 4]], 'mask': Evil()}, open(os.path.join(dir, 'meta_data.pkl'), 'wb'))
`);
    expectRefused(() => readDragBenchCase(dir), /meta_data\.pkl: refused: the pickle references (posix|os)\.system/);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    const eval_ = pythonCase(`
import builtins
class Evil:
    def __reduce__(self):
        return (builtins.eval, ('1+1',))
pickle.dump(Evil(), open(os.path.join(dir, 'meta_data.pkl'), 'wb'))
`);
    expectRefused(() => readDragBenchCase(eval_), /refused: the pickle references builtins\.eval/);
  });

  withPython('refuses classes and values DragBench never writes: a set, an OrderedDict, extra keys, a non-numeric mask', () => {
    const cases: Array<[string, RegExp]> = [
      ["{'prompt': 'x', 'points': {1, 2}, 'mask': np.zeros((48, 64), np.uint8)}", /points is a PySet, not a list/],
      ["__import__('collections').OrderedDict(prompt='x')", /holds a OrderedDict, not a dict/],
      ["{'prompt': 'x', 'points': [[1, 2], [3, 4]], 'mask': np.zeros((48, 64), np.uint8), 'extra': 1}", /keys "extra"; a DragBench case has only prompt, points and mask/],
      ["{'prompt': 'x', 'points': [[1, 2], [3, 4]], 'mask': np.zeros((48, 64), np.complex64)}", /dtype 'c8'/],
      ["{'prompt': 'x', 'points': [[1, 2], [3, 4]], 'mask': [[0, 1]]}", /the mask is a list, not a numpy array/],
      ["{'prompt': b'x', 'points': [[1, 2], [3, 4]], 'mask': np.zeros((48, 64), np.uint8)}", /the prompt is a bytes, not a str/],
      ["{'prompt': 'x', 'points': [[1, 2, 3], [3, 4]], 'mask': np.zeros((48, 64), np.uint8)}", /points\[0\] is a list of 3, not an \[x, y\] pair/],
      ["{'prompt': 'x', 'points': [[1, 'a'], [3, 4]], 'mask': np.zeros((48, 64), np.uint8)}", /points\[0\] holds a string, not a finite number/],
    ];
    for (const [value, message] of cases) {
      const dir = pythonCase(`pickle.dump(${value}, open(os.path.join(dir, 'meta_data.pkl'), 'wb'))`);
      expectRefused(() => readDragBenchCase(dir), message);
    }
  });

  it('refuses absurd shapes, truncated data and unknown opcodes in a hand-made pickle', () => {
    const good: DragBenchMetaData = { prompt: 'x', points: [[1, 2], [3, 4]], mask: { height: 2, width: 3, data: new Uint8Array(6) } };
    const bytes = Buffer.from(encodeMetaData(good));
    expect(decodeMetaData(bytes).mask).toEqual({ height: 2, width: 3, data: new Uint8Array(6) });
    // The shape tuple (BININT1 2, BININT1 3, TUPLE2) patched to 2^31-1 x 3 via BININT: the bytes no longer match.
    const shapeAt = bytes.indexOf(Buffer.from([0x4b, 0x02, 0x4b, 0x03, 0x86]));
    expect(shapeAt).toBeGreaterThan(0);
    const huge = Buffer.concat([bytes.subarray(0, shapeAt), Buffer.from([0x4a, 0xff, 0xff, 0xff, 0x7f, 0x4a, 0xff, 0xff, 0xff, 0x7f, 0x86]), bytes.subarray(shapeAt + 5)]);
    expect(() => decodeMetaData(huge)).toThrow(/the mask has shape \[2147483647,2147483647\]/);
    const tall = Buffer.concat([bytes.subarray(0, shapeAt), Buffer.from([0x4b, 0x03, 0x4b, 0x03, 0x86]), bytes.subarray(shapeAt + 5)]);
    expect(() => decodeMetaData(tall)).toThrow(/holds 6 bytes, expected 9/);
    const threeD = Buffer.concat([bytes.subarray(0, shapeAt), Buffer.from([0x4b, 0x01, 0x4b, 0x02, 0x4b, 0x03, 0x87]), bytes.subarray(shapeAt + 5)]);
    expect(() => decodeMetaData(threeD)).toThrow(/shape \[1,2,3\]; expected \[height, width\]/);
    expect(() => decodeMetaData(bytes.subarray(0, bytes.length - 10))).toThrow(DragBenchError);
    expect(() => decodeMetaData(Buffer.from([0x80, 0x03, 0xff]))).toThrow(/unknown opcode 0xff/);
    expect(() => decodeMetaData(Buffer.from('cposix\nsystem\n(S"id"\ntR.', 'latin1'))).toThrow(/refused: the pickle references posix\.system/);
    // A persistent id (how torch's storages are referenced) has no place here.
    expect(() => decodeMetaData(Buffer.from('(S"x"\nQ.', 'latin1'))).toThrow(/persistent id/);
  });

  withPython("refuses a mask of another size, an odd point count and points outside the image, naming the problem", () => {
    const wrongMask = pythonCase(`pickle.dump({'prompt': 'x', 'points': [[1, 2], [3, 4]], 'mask': np.zeros((64, 48), np.uint8)}, open(os.path.join(dir, 'meta_data.pkl'), 'wb'))`);
    expectRefused(() => readDragBenchCase(wrongMask), /the mask in meta_data\.pkl is 48x64 \(width x height\), the image is 64x48/);
    const odd = pythonCase(`pickle.dump({'prompt': 'x', 'points': [[1, 2], [3, 4], [5, 6]], 'mask': np.zeros((48, 64), np.uint8)}, open(os.path.join(dir, 'meta_data.pkl'), 'wb'))`);
    expectRefused(() => readDragBenchCase(odd), /has 3 points; handles and targets alternate, so the count must be even/);
    const outside = pythonCase(`pickle.dump({'prompt': 'x', 'points': [[1, 2], [64, 4]], 'mask': np.zeros((48, 64), np.uint8)}, open(os.path.join(dir, 'meta_data.pkl'), 'wb'))`);
    expectRefused(() => readDragBenchCase(outside), /points\[0\]\.target \(64, 4\) is outside the 64x48 image/);
    const none = pythonCase(`pickle.dump({'prompt': 'x', 'points': [], 'mask': np.zeros((48, 64), np.uint8)}, open(os.path.join(dir, 'meta_data.pkl'), 'wb'))`);
    expectRefused(() => readDragBenchCase(none), /at least one handle\/target pair/);
  });

  it('refuses a folder without its files, and a non-PNG image, before reading anything else', () => {
    const dir = tempDir('sd-dragbench-missing-');
    expectRefused(() => readDragBenchCase(dir), /original_image\.png is missing/);
    writeFileSync(path.join(dir, 'original_image.png'), 'GIF89a not a png');
    expectRefused(() => readDragBenchCase(dir), /original_image\.png is not a PNG file/);
    expectRefused(() => readDragBenchCase(path.join(dir, 'nope')), /is not a folder/);
  });

  it('stabledrag dragbench-export then dragbench-import: case.json -> folder -> case.json keeps the case; bad input exits 1', async () => {
    const dir = tempDir('sd-dragbench-cli-');
    const source = path.join(dir, 'source');
    writeDragBenchCase(source, sampleCase());
    const json = path.join(dir, 'case.json');
    const imported = await run('node', [bin, 'dragbench-import', source, '--out', json]);
    expect(imported.stdout).toContain(`wrote ${json}: 64x48, 2 drag(s), prompt "a photo of a cat"`);
    const folder = path.join(dir, 'exported');
    const exported = await run('node', [bin, 'dragbench-export', json, '--out', folder]);
    expect(exported.stdout).toContain(`wrote ${folder}: original_image.png, user_drag.png, meta_data.pkl (2 drag(s))`);
    const back = readDragBenchCase(folder);
    const c = sampleCase();
    expect(back.points).toEqual(c.points);
    expect(back.mask).toEqual(c.mask);
    expect(Buffer.from(back.image.data)).toEqual(Buffer.from(c.image.data));
    expect(readDragCaseJson(json).prompt).toBe('a photo of a cat');

    const missing = await run('node', [bin, 'dragbench-import', path.join(dir, 'nope'), '--out', path.join(dir, 'x.json')]).catch((e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error \(invalid-dragbench-case\): .*nope is not a folder/);
    expect(existsSync(path.join(dir, 'x.json'))).toBe(false);
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ format: 'stabledrag-drag-case', version: 1, prompt: 'x', points: [] }));
    const bad = await run('node', [bin, 'dragbench-export', path.join(dir, 'bad.json'), '--out', path.join(dir, 'bad')]).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error \(invalid-dragbench-case\): case\.json: image must be a base64 PNG string/);
    expect(existsSync(path.join(dir, 'bad'))).toBe(false);
    const noOut = await run('node', [bin, 'dragbench-export', json]).catch((e) => e);
    expect(noOut.code).toBe(1);
    expect(noOut.stderr).toMatch(/--out is required/);
  }, 120_000);
});
