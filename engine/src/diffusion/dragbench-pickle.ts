/**
 * DragBench's meta_data.pkl: the dict {'prompt': str, 'points': [[x, y], ...], 'mask': numpy HxW array} that
 * DragDiffusion's labelling tool writes with pickle.dump.
 *
 * Reading goes through the importer's pickle interpreter, which never executes anything and refuses any
 * global outside its allow-list; what it returns is then checked against exactly the shape DragBench writes,
 * so a pickle that is valid for a checkpoint (a torch tensor, a persistent network) is still refused here.
 * Writing emits protocol 3 by hand: the same opcodes Python 3 uses for these types, so pickle.load (and
 * DragDiffusion's scripts) read it back as the same dict with a uint8 numpy mask.
 */
import { CheckpointImportError } from '../import/errors.js';
import { unpickle } from '../import/pickle/interpreter.js';
import type { PickleLimits } from '../import/pickle/limits.js';
import { BufferedReader, MemorySource } from '../import/pickle/source.js';
import { tensorValues } from '../import/pickle/tensor-data.js';
import { LazyString, NdArray, PyDict, PyTuple, typeName, type PyValue } from '../import/pickle/values.js';
import { DragBenchError } from './dragbench-error.js';
import { MAX_PROMPT_CHARS } from './tokenizer.js';

/** meta_data.pkl as plain values: points alternate handle, target in image pixels; mask row-major, 1 = editable. */
export interface DragBenchMetaData {
  prompt: string;
  points: Array<[number, number]>;
  mask: { height: number; width: number; data: Uint8Array };
}

/** DragBench's masks are 512 px wide uint8 arrays (a few hundred KiB); this leaves room for 4096x4096 float64. */
export const MAX_META_DATA_BYTES = 160 * 1024 * 1024;
/** Far above the 32 pairs a drag may have, small enough that a hostile list cannot hold memory for long. */
const MAX_POINT_VALUES = 4096;

const LIMITS: PickleLimits = {
  maxMemo: 1 << 16,
  maxStack: 10_000,
  maxMarks: 64,
  maxContainer: MAX_POINT_VALUES,
  lazyThreshold: 64 * 1024,
  maxString: 1 << 20,
};

/** The numpy dtypes a DragBench mask has been seen in: uint8 (0/1 or 0/255), bool, and float32 (an empty mask). */
const MASK_DTYPES = new Set(['u1', 'b1', 'f4', 'f8', 'i8', 'i4']);

/** `image`, when given, is the case's image size: a mask of another shape is refused before its values are decoded. */
export function decodeMetaData(bytes: Uint8Array, image?: { width: number; height: number }): DragBenchMetaData {
  if (bytes.length > MAX_META_DATA_BYTES) throw new DragBenchError(`meta_data.pkl is ${bytes.length} bytes, more than ${MAX_META_DATA_BYTES}`);
  let root: PyValue;
  try {
    root = unpickle(new BufferedReader(new MemorySource(bytes)), {
      limits: LIMITS,
      loadStorage: () => {
        throw new CheckpointImportError('a torch storage, which no DragBench case holds');
      },
      decodeString: () => {
        throw new CheckpointImportError('a string longer than 64 KiB, which no DragBench case holds');
      },
    });
  } catch (err) {
    if (err instanceof CheckpointImportError) throw new DragBenchError(`meta_data.pkl: ${err.message}`);
    throw err;
  }
  if (!(root instanceof PyDict) || root.className !== 'dict') throw new DragBenchError(`meta_data.pkl holds a ${typeName(root)}, not a dict`);
  const keys = [...root.map.keys()];
  const unknown = keys.filter((k) => k !== 'prompt' && k !== 'points' && k !== 'mask');
  if (unknown.length) throw new DragBenchError(`meta_data.pkl has keys ${unknown.map((k) => JSON.stringify(String(k))).join(', ')}; a DragBench case has only prompt, points and mask`);
  return { prompt: readPrompt(root.get('prompt')), points: readPoints(root.get('points')), mask: readMask(root.get('mask'), image) };
}

function readPrompt(v: PyValue | undefined): string {
  if (v === undefined) throw new DragBenchError("meta_data.pkl has no 'prompt'");
  if (v instanceof LazyString) throw new DragBenchError(`meta_data.pkl: the prompt is longer than ${MAX_PROMPT_CHARS} characters`);
  if (typeof v !== 'string') throw new DragBenchError(`meta_data.pkl: the prompt is a ${typeName(v)}, not a str`);
  if (v.length > MAX_PROMPT_CHARS) throw new DragBenchError(`meta_data.pkl: the prompt is ${v.length} characters, more than ${MAX_PROMPT_CHARS}`);
  return v;
}

function readPoints(v: PyValue | undefined): Array<[number, number]> {
  if (v === undefined) throw new DragBenchError("meta_data.pkl has no 'points'");
  if (!Array.isArray(v)) throw new DragBenchError(`meta_data.pkl: points is a ${typeName(v)}, not a list`);
  return v.map((p, i) => {
    // Gradio's click index arrives as a list; older cases hold tuples.
    const xy = Array.isArray(p) ? p : p instanceof PyTuple ? p.items : null;
    if (!xy || xy.length !== 2) throw new DragBenchError(`meta_data.pkl: points[${i}] is a ${typeName(p)}${xy ? ` of ${xy.length}` : ''}, not an [x, y] pair`);
    return xy.map((c) => {
      if (typeof c !== 'number' || !Number.isFinite(c)) throw new DragBenchError(`meta_data.pkl: points[${i}] holds a ${typeName(c)}, not a finite number`);
      return c;
    }) as [number, number];
  });
}

function readMask(v: PyValue | undefined, image?: { width: number; height: number }): DragBenchMetaData['mask'] {
  if (v === undefined) throw new DragBenchError("meta_data.pkl has no 'mask'");
  if (!(v instanceof NdArray)) throw new DragBenchError(`meta_data.pkl: the mask is a ${typeName(v)}, not a numpy array`);
  const spec = v.dtype?.spec ?? '';
  if (!MASK_DTYPES.has(spec)) throw new DragBenchError(`meta_data.pkl: the mask has numpy dtype '${spec}'; expected uint8, bool or float`);
  if (v.shape.length !== 2) throw new DragBenchError(`meta_data.pkl: the mask has shape [${v.shape}]; expected [height, width]`);
  const [height, width] = v.shape;
  if (height < 1 || width < 1 || height * width > 40_000_000) throw new DragBenchError(`meta_data.pkl: the mask has shape [${v.shape}]`);
  if (image && (width !== image.width || height !== image.height)) {
    throw new DragBenchError(`the mask in meta_data.pkl is ${width}x${height} (width x height), the image is ${image.width}x${image.height}`);
  }
  let values: Float32Array;
  try {
    values = tensorValues(v, 'the mask').data;
  } catch (err) {
    if (err instanceof CheckpointImportError) throw new DragBenchError(`meta_data.pkl: ${err.message}`);
    throw err;
  }
  const data = new Uint8Array(values.length);
  // DragDiffusion's evaluation treats every value above zero as editable (it divides by 255, then sets > 0 to 1).
  for (let i = 0; i < values.length; i++) data[i] = values[i] > 0 ? 1 : 0;
  return { height, width, data };
}

/** Protocol 3 opcodes, named as in CPython's pickle.py. */
const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, EMPTY_DICT: 0x7d, EMPTY_LIST: 0x5d, APPENDS: 0x65, SETITEMS: 0x75,
  BININT: 0x4a, BININT1: 0x4b, BINFLOAT: 0x47, BINUNICODE: 0x58, SHORT_BINBYTES: 0x43, BINBYTES: 0x42,
  GLOBAL: 0x63, REDUCE: 0x52, BUILD: 0x62, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89,
} as const;

class PickleWriter {
  private readonly parts: Uint8Array[] = [];
  op(...codes: number[]): this {
    this.parts.push(Uint8Array.from(codes));
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  u32(n: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return this.raw(b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(OP.BININT1, n);
    const b = new Uint8Array(5);
    b[0] = OP.BININT;
    new DataView(b.buffer).setInt32(1, n, true);
    return this.raw(b);
  }
  number(x: number): this {
    if (Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31) return this.int(x);
    const b = new Uint8Array(9);
    b[0] = OP.BINFLOAT;
    new DataView(b.buffer).setFloat64(1, x, false);
    return this.raw(b);
  }
  str(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    return this.op(OP.BINUNICODE).u32(utf8.length).raw(utf8);
  }
  bytes(b: Uint8Array): this {
    return b.length < 256 ? this.op(OP.SHORT_BINBYTES, b.length).raw(b) : this.op(OP.BINBYTES).u32(b.length).raw(b);
  }
  global(module: string, name: string): this {
    return this.op(OP.GLOBAL).raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }
  done(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

/** The pickle Python's pickle.dump writes for DragBench's dict (protocol 3, no memo: nothing is shared). */
export function encodeMetaData(meta: DragBenchMetaData): Uint8Array {
  const { height, width, data } = meta.mask;
  if (data.length !== height * width) throw new DragBenchError(`the mask holds ${data.length} values, expected ${height}x${width}`);
  const w = new PickleWriter().op(OP.PROTO, 3, OP.EMPTY_DICT, OP.MARK);
  w.str('prompt').str(meta.prompt);
  w.str('points').op(OP.EMPTY_LIST, OP.MARK);
  for (const [x, y] of meta.points) w.op(OP.EMPTY_LIST, OP.MARK).number(x).number(y).op(OP.APPENDS);
  w.op(OP.APPENDS);
  // numpy's ndarray.__reduce__: _reconstruct(ndarray, (0,), b'b'), then __setstate__((1, shape, dtype, fortran, bytes)).
  w.str('mask').global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).op(OP.TUPLE1);
  w.bytes(Uint8Array.of(0x62)).op(OP.TUPLE3, OP.REDUCE);
  w.op(OP.MARK).int(1).int(height).int(width).op(OP.TUPLE2);
  // dtype('u1') and its state (version 3, byte order '|', no sub-array/names/fields, itemsize and alignment -1, flags 0).
  w.global('numpy', 'dtype').str('u1').op(OP.NEWFALSE, OP.NEWTRUE, OP.TUPLE3, OP.REDUCE);
  w.op(OP.MARK).int(3).str('|').op(OP.NONE, OP.NONE, OP.NONE).int(-1).int(-1).int(0).op(OP.TUPLE, OP.BUILD);
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = data[i] ? 1 : 0;
  w.op(OP.NEWFALSE).bytes(bytes).op(OP.TUPLE, OP.BUILD);
  return w.op(OP.SETITEMS, OP.STOP).done();
}
