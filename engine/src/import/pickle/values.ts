/**
 * What the interpreter builds: plain data only. Python objects that a checkpoint names (tensors, numpy
 * arrays, persistent-class networks) become inert records of the arguments they were pickled with.
 */
import type { LazyBytes } from './source.js';

/** A Python str too long to copy while reading; decoded only if a value needs it. */
export class LazyString {
  constructor(readonly bytes: LazyBytes) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | LazyString
  | Uint8Array
  | LazyBytes
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyInstance
  | PersistentRecord
  | TorchStorage
  | TorchTensor
  | NdArray
  | NpDType;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A dict (also OrderedDict and dnnlib's EasyDict, named by `className`). */
export class PyDict {
  readonly map = new Map<unknown, PyValue>();
  constructor(readonly className = 'dict') {}
  get(key: string): PyValue | undefined {
    return this.map.get(key);
  }
}

export class PySet {
  readonly items: PyValue[] = [];
  constructor(readonly frozen = false) {}
}

/** A module-level name from the allow-list (the only thing GLOBAL can produce). */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of an allowed plain class (e.g. a TensorFlow-era Network): its class and pickled state. */
export class PyInstance {
  state: PyValue = null;
  constructor(readonly cls: PyGlobal) {}
}

/** torch_utils.persistence's record of a network module: class name and its nn.Module __dict__. */
export class PersistentRecord {
  constructor(
    readonly className: string,
    readonly version: number,
    readonly state: PyDict,
  ) {}
}

export type TorchDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<TorchDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** One storage of a torch.save stream: where its raw little-endian elements lie. */
export class TorchStorage {
  constructor(
    readonly dtype: TorchDType,
    readonly numel: number,
    readonly data: LazyBytes,
  ) {}
}

export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
  get dtype(): TorchDType {
    return this.storage.dtype;
  }
}

/** numpy.dtype('f4') and friends: the type string and, after BUILD, the byte order. */
export class NpDType {
  byteorder = '|';
  constructor(readonly spec: string) {}
}

/** A numpy array: filled in by BUILD with shape, dtype, order and raw data. */
export class NdArray {
  shape: number[] = [];
  dtype: NpDType | null = null;
  fortran = false;
  data: Uint8Array | LazyBytes | null = null;
}

export function typeName(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v !== 'object') return typeof v === 'bigint' ? 'int' : typeof v;
  if (v instanceof PyDict) return v.className;
  if (v instanceof PyGlobal) return v.qualified;
  if (v instanceof PyInstance) return `${v.cls.qualified} instance`;
  if (v instanceof PersistentRecord) return `persistent ${v.className}`;
  return v.constructor.name;
}
