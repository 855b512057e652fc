/**
 * torch.save's zip layout (torch >= 1.6): `<archive>/data.pkl`, the object pickle, whose tensors name their
 * storages by persistent ids ('storage', storage type, key, location, numel); each storage's raw
 * little-endian elements are the stored entry `<archive>/data/<key>`. The pickle goes through the same
 * allow-listed interpreter as every checkpoint; storages stay in the file as byte ranges.
 */
import { CheckpointImportError } from '../errors.js';
import { readZip } from '../zip.js';
import { unpickle, type UnpickleOptions } from './interpreter.js';
import { DEFAULT_LIMITS } from './limits.js';
import { BufferedReader, type ByteSource } from './source.js';
import { STORAGE_TYPES } from './stand-ins.js';
import { loadStorageStream } from './torch-storage.js';
import { DTYPE_BYTES, PyGlobal, PyTuple, TorchStorage, typeName, type PyValue, type TorchDType } from './values.js';

export interface StorageId {
  key: string;
  dtype: TorchDType;
  numel: number;
}

/**
 * A torch.save persistent id ('storage', storage type, key, location, numel), `length` items long (the
 * legacy format adds a view, which must be None). Keys name zip entries, so only word characters pass.
 */
export function storageId(pid: PyValue, length: number, bad: (why: string) => never): StorageId {
  const items = pid instanceof PyTuple ? pid.items : bad(`a persistent id that is a ${typeName(pid)}`);
  const [kind, type, key, , numel, view] = items;
  if (kind !== 'storage' || items.length !== length) bad('a persistent id that is not a storage reference');
  if (view != null) bad('storage views are not supported');
  const dtype = type instanceof PyGlobal && type.module === 'torch' ? STORAGE_TYPES[type.name] : undefined;
  if (!dtype) return bad(`a storage of type ${typeName(type as PyValue)}`);
  if (typeof key !== 'string' || !/^\w{1,64}$/.test(key)) return bad(`a storage key ${JSON.stringify(String(key)).slice(0, 80)}`);
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) return bad(`a storage with ${String(numel)} elements`);
  return { key, dtype, numel };
}

/** The object a torch.save zip archive holds, read from `source` without executing anything. */
export function unpickleTorchZip(source: ByteSource, what: string): PyValue {
  const bad = (why: string): never => {
    throw new CheckpointImportError(`${what}: ${why}`);
  };
  const entries = readZip(source, what);
  const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) bad(`not a torch.save archive (${pickles.length} <name>/data.pkl entries, expected 1)`);
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const pickle = entries.get(pickles[0])!.data;
  const storages = new Map<string, TorchStorage>();
  const limits = DEFAULT_LIMITS;
  const ctx: UnpickleOptions = {
    limits,
    loadStorage: (bytes) => loadStorageStream(bytes, ctx),
    decodeString: (s) => {
      if (s.bytes.length > limits.maxString) bad(`a string of ${s.bytes.length} bytes is longer than ${limits.maxString}`);
      return new TextDecoder('utf-8', { fatal: true }).decode(s.bytes.materialize());
    },
    persistentLoad: (pid) => {
      const { key, dtype, numel } = storageId(pid, 5, bad);
      const known = storages.get(key);
      if (known) {
        if (known.dtype !== dtype || known.numel !== numel) bad(`storage ${key} is referred to with two types or sizes`);
        return known;
      }
      const entry = entries.get(`${prefix}data/${key}`) ?? bad(`storage ${key} has no entry ${prefix}data/${key}`);
      const size = numel * DTYPE_BYTES[dtype];
      if (entry.data.length !== size) bad(`storage ${key} holds ${entry.data.length} bytes, ${numel} ${dtype} elements need ${size}`);
      const storage = new TorchStorage(dtype, numel, entry.data);
      storages.set(key, storage);
      return storage;
    },
  };
  return unpickle(new BufferedReader(source, pickle.offset, pickle.offset + pickle.length), ctx);
}
