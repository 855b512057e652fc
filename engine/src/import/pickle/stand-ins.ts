/**
 * The allow-list: every module-level name a StyleGAN checkpoint refers to, each mapped to an inert stand-in
 * that records its arguments as data. Any other name is refused before anything could use it.
 */
import { CheckpointImportError } from '../errors.js';
import { LazyBytes } from './source.js';
import {
  LazyString,
  NdArray,
  NpDType,
  PersistentRecord,
  PyDict,
  PyGlobal,
  PyInstance,
  PySet,
  PyTuple,
  TorchStorage,
  TorchTensor,
  typeName,
  type PyValue,
  type TorchDType,
} from './values.js';

export interface StandInContext {
  /** Reads the small header of a legacy torch.save storage stream held in `bytes`. */
  loadStorage(bytes: Uint8Array | LazyBytes): TorchStorage;
  /** Decodes a lazily kept string (bounded by the limits). */
  decodeString(s: LazyString): string;
}

type Fn = (args: PyValue[], ctx: StandInContext) => PyValue;
interface StandIn {
  call?: Fn;
  construct?: Fn;
}

export const STORAGE_TYPES: Record<string, TorchDType> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

const MAX_RANK = 8;
const MAX_DIM = 2 ** 31;

function bad(message: string): never {
  throw new CheckpointImportError(message);
}

function ints(v: PyValue, what: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : bad(`${what} must be a tuple of integers, got ${typeName(v)}`);
  return items.map((x) => (typeof x === 'number' && Number.isInteger(x) ? x : bad(`${what} holds ${typeName(x)}, not an integer`)));
}

function rebuildTensor(args: PyValue[]): TorchTensor {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorage)) bad(`a tensor's storage is a ${typeName(storage)}`);
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) bad(`a tensor's storage offset is ${String(offset)}`);
  const shape = ints(size, 'a tensor shape');
  const strides = ints(stride, 'a tensor stride');
  if (shape.length > MAX_RANK) bad(`a tensor of rank ${shape.length} (more than ${MAX_RANK} dimensions)`);
  if (strides.length !== shape.length) bad(`a tensor has ${shape.length} dimensions but ${strides.length} strides`);
  if (shape.some((d) => d < 0 || d > MAX_DIM)) bad(`a tensor shape [${shape}] has a dimension outside 0..2^31`);
  if (strides.some((s) => s < 0)) bad(`a tensor has negative strides [${strides}]`);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel > 0) {
    const last = (offset as number) + shape.reduce((acc, d, i) => acc + (d - 1) * strides[i], 0);
    if (last >= (storage as TorchStorage).numel) {
      bad(`a tensor of shape [${shape}] at offset ${offset} reaches element ${last}, past the end of its ${(storage as TorchStorage).numel}-element storage`);
    }
  }
  return new TorchTensor(storage as TorchStorage, offset as number, shape, strides);
}

function constructGlobal(cls: PyValue, args: PyValue[], ctx: StandInContext): PyValue {
  if (!(cls instanceof PyGlobal)) bad(`a ${typeName(cls)} used as a class`);
  return construct(cls as PyGlobal, args, ctx);
}

function scalarValue(dtype: PyValue, data: PyValue): number | boolean {
  if (!(dtype instanceof NpDType)) bad(`a numpy scalar with dtype ${typeName(dtype)}`);
  if (!(data instanceof Uint8Array)) bad(`a numpy scalar holding ${typeName(data)}`);
  const bytes = data as Uint8Array;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = (dtype as NpDType).byteorder !== '>';
  const kinds: Record<string, [number, (o: number) => number]> = {
    f8: [8, (o) => dv.getFloat64(o, le)], f4: [4, (o) => dv.getFloat32(o, le)], i8: [8, (o) => Number(dv.getBigInt64(o, le))],
    i4: [4, (o) => dv.getInt32(o, le)], i2: [2, (o) => dv.getInt16(o, le)], i1: [1, (o) => dv.getInt8(o)],
    u8: [8, (o) => Number(dv.getBigUint64(o, le))], u4: [4, (o) => dv.getUint32(o, le)], u2: [2, (o) => dv.getUint16(o, le)],
    u1: [1, (o) => dv.getUint8(o)], b1: [1, (o) => dv.getUint8(o)],
  };
  const kind = kinds[(dtype as NpDType).spec];
  if (!kind || bytes.length !== kind[0]) bad(`a numpy scalar of dtype '${(dtype as NpDType).spec}' with ${bytes.length} bytes`);
  const v = kind![1](0);
  return (dtype as NpDType).spec === 'b1' ? v !== 0 : v;
}

function fillNdArray(obj: NdArray, shape: PyValue, dtype: PyValue, fortran: boolean, raw: PyValue): NdArray {
  obj.shape = ints(shape, 'a numpy array shape');
  if (obj.shape.length > MAX_RANK || obj.shape.some((d) => d < 0 || d > MAX_DIM)) bad(`a numpy array of shape [${obj.shape}]`);
  if (!(dtype instanceof NpDType)) bad(`a numpy array with dtype ${typeName(dtype)}`);
  obj.dtype = dtype as NpDType;
  obj.fortran = fortran;
  if (!(raw instanceof Uint8Array) && !(raw instanceof LazyBytes)) bad(`a numpy array of dtype '${(dtype as NpDType).spec}' holding ${typeName(raw)} (object arrays are refused)`);
  obj.data = raw as Uint8Array | LazyBytes;
  return obj;
}

function ndArray(shape: PyValue, dtype: PyValue, fortran: boolean, raw: PyValue): NdArray {
  return fillNdArray(new NdArray(), shape, dtype, fortran, raw);
}

const asType: StandIn = {};

const ALLOWED: Record<string, StandIn> = {
  'torch_utils.persistence._reconstruct_persistent_obj': {
    call: ([meta]) => {
      if (!(meta instanceof PyDict)) bad(`a persistent object's meta is a ${typeName(meta)}`);
      const m = meta as PyDict;
      const kind = m.get('type');
      if (kind !== 'class') bad(`a persistent object of type ${JSON.stringify(kind)} (only 'class' exists)`);
      const className = m.get('class_name');
      const version = m.get('version');
      const state = m.get('state');
      if (typeof className !== 'string') bad('a persistent object without a class name');
      if (!(state instanceof PyDict)) bad(`persistent ${String(className)} has a ${typeName(state)} as its state`);
      return new PersistentRecord(className as string, typeof version === 'number' ? version : -1, state as PyDict);
    },
  },
  'torch._utils._rebuild_tensor_v2': { call: (args) => rebuildTensor(args) },
  'torch._utils._rebuild_tensor': { call: (args) => rebuildTensor(args) },
  'torch._utils._rebuild_parameter': {
    call: ([data]) => (data instanceof TorchTensor ? data : bad(`a parameter wrapping a ${typeName(data)}`)),
  },
  'torch._utils._rebuild_parameter_with_state': {
    call: ([data]) => (data instanceof TorchTensor ? data : bad(`a parameter wrapping a ${typeName(data)}`)),
  },
  'torch._tensor._rebuild_from_type_v2': {
    call: ([fn, , args], ctx) => {
      if (!(fn instanceof PyGlobal) || !(args instanceof PyTuple)) bad('_rebuild_from_type_v2 without a function and arguments');
      return call(fn as PyGlobal, (args as PyTuple).items, ctx);
    },
  },
  'torch.storage._load_from_bytes': {
    call: ([bytes], ctx) => {
      if (!(bytes instanceof Uint8Array) && !(bytes instanceof LazyBytes)) bad(`_load_from_bytes of a ${typeName(bytes)}`);
      return ctx.loadStorage(bytes as Uint8Array | LazyBytes);
    },
  },
  'torch.device': { call: ([kind, index]) => (typeof kind === 'string' ? (index == null ? kind : `${kind}:${String(index)}`) : bad('torch.device without a name')) },
  'torch.Size': { call: ([dims]) => new PyTuple(ints(dims, 'torch.Size')) },
  'torch.Tensor': asType,
  'torch.nn.parameter.Parameter': asType,
  ...Object.fromEntries(Object.keys(STORAGE_TYPES).map((n) => [`torch.${n}`, asType])),
  'collections.OrderedDict': {
    construct: (args) => orderedDict(args),
    call: (args) => orderedDict(args),
  },
  'builtins.set': { call: ([items]) => makeSet(items, false) },
  'builtins.frozenset': { call: ([items]) => makeSet(items, true) },
  'builtins.object': asType,
  'copyreg._reconstructor': { call: ([cls, , state], ctx) => (state == null ? constructGlobal(cls, [], ctx) : bad('copyreg._reconstructor with a base state')) },
  'copyreg.__newobj__': { call: ([cls, ...args], ctx) => constructGlobal(cls, args, ctx) },
  'dnnlib.util.EasyDict': { construct: (args) => dictFrom(new PyDict('EasyDict'), args), call: (args) => dictFrom(new PyDict('EasyDict'), args) },
  'dnnlib.tflib.network.Network': { construct: () => new PyInstance(new PyGlobal('dnnlib.tflib.network', 'Network')) },
  'numpy.core.multiarray._reconstruct': { call: () => new NdArray() },
  'numpy.ndarray': asType,
  'numpy.dtype': { call: ([spec]) => (typeof spec === 'string' ? new NpDType(spec) : bad(`numpy.dtype of a ${typeName(spec)}`)) },
  // Protocol 5's ndarray reduction: _frombuffer(buffer, dtype, shape, order), the buffer in-band.
  'numpy.core.numeric._frombuffer': { call: ([raw, dtype, shape, order]) => ndArray(shape, dtype, order === 'F', raw) },
  'numpy.core.multiarray.scalar': { call: ([dtype, data]) => scalarValue(dtype, data) },
  '_codecs.encode': {
    call: ([text, encoding], ctx) => {
      const s = text instanceof LazyString ? ctx.decodeString(text) : text;
      if (typeof s !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) bad('_codecs.encode other than str to latin1 bytes');
      return new Uint8Array(Buffer.from(s as string, 'latin1'));
    },
  },
};

/** Old and new spellings of the same module (Python 2 names, numpy 2's private package). */
const MODULE_ALIASES: Record<string, string> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  'numpy._core.multiarray': 'numpy.core.multiarray',
  'numpy._core.numeric': 'numpy.core.numeric',
  'dnnlib.EasyDict': 'dnnlib.util',
};

function orderedDict(args: PyValue[]): PyDict {
  return dictFrom(new PyDict('OrderedDict'), args);
}

function dictFrom(d: PyDict, args: PyValue[]): PyDict {
  const [init] = args;
  if (init == null) return d;
  if (init instanceof PyDict) {
    for (const [k, v] of init.map) d.map.set(k, v);
    return d;
  }
  const pairs = Array.isArray(init) ? init : bad(`a dict built from a ${typeName(init)}`);
  for (const p of pairs) {
    if (!(p instanceof PyTuple) && !Array.isArray(p)) bad('a dict built from something other than pairs');
    const [k, v] = p instanceof PyTuple ? p.items : (p as PyValue[]);
    d.map.set(k, v);
  }
  return d;
}

function makeSet(items: PyValue, frozen: boolean): PySet {
  const s = new PySet(frozen);
  if (items == null) return s;
  if (!Array.isArray(items)) bad(`a set built from a ${typeName(items)}`);
  s.items.push(...(items as PyValue[]));
  return s;
}

function lookup(g: PyGlobal): StandIn {
  return ALLOWED[g.qualified];
}

/** GLOBAL / STACK_GLOBAL: only allow-listed names exist. */
export function resolveGlobal(module: string, name: string): PyGlobal {
  const canonical = MODULE_ALIASES[module] ?? module;
  const g = new PyGlobal(canonical, name);
  if (!ALLOWED[g.qualified]) {
    throw new CheckpointImportError(`refused: the pickle references ${module}.${name}, which no StyleGAN checkpoint contains`);
  }
  return g;
}

/** REDUCE: calls a stand-in function. */
export function call(fn: PyGlobal, args: PyValue[], ctx: StandInContext): PyValue {
  const s = lookup(fn);
  if (s?.call) return s.call(args, ctx);
  if (s?.construct) return s.construct(args, ctx);
  throw new CheckpointImportError(`refused: the pickle calls ${fn.qualified}, which is only ever used as a type`);
}

/** NEWOBJ / INST / OBJ: creates an instance of a stand-in class. */
export function construct(cls: PyGlobal, args: PyValue[], ctx: StandInContext): PyValue {
  const s = lookup(cls);
  if (s?.construct) return s.construct(args, ctx);
  throw new CheckpointImportError(`refused: the pickle instantiates ${cls.qualified}, which no StyleGAN checkpoint does`);
}

/** BUILD: sets the state of an object the stand-ins made. */
export function build(obj: PyValue, state: PyValue): void {
  if (obj instanceof PyInstance) {
    obj.state = state;
  } else if (obj instanceof NdArray) {
    const items = state instanceof PyTuple ? state.items : bad(`numpy array state is a ${typeName(state)}`);
    const [, shape, dtype, fortran, raw] = items.length === 5 ? items : bad(`numpy array state with ${items.length} fields`);
    fillNdArray(obj, shape, dtype, fortran === true, raw);
  } else if (obj instanceof NpDType) {
    const items = state instanceof PyTuple ? state.items : bad(`numpy dtype state is a ${typeName(state)}`);
    if (typeof items[1] === 'string') obj.byteorder = items[1];
  } else if (obj instanceof PyDict && obj.className === 'EasyDict') {
    if (state instanceof PyDict) for (const [k, v] of state.map) obj.map.set(k, v);
    else if (state != null) bad(`EasyDict state is a ${typeName(state)}`);
  } else if (obj instanceof PyDict && obj.className === 'OrderedDict') {
    // A torch state dict's OrderedDict carries `_metadata` (per-module versions) as an attribute: not an
    // item of the dict, and nothing a tensor needs, so it is checked for shape and dropped.
    if (!(state instanceof PyDict) && state != null) bad(`OrderedDict state is a ${typeName(state)}`);
  } else {
    bad(`BUILD on a ${typeName(obj)}, which no StyleGAN checkpoint does`);
  }
}

