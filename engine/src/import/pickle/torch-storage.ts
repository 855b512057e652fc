/**
 * The legacy torch.save stream inside each pickled storage (torch.storage._load_from_bytes(bytes)):
 * a pickled magic number, protocol version and sys info, the object pickle (the storage, as a persistent
 * id ('storage', type, key, location, numel, view)), the pickled key list, then per key an int64 element
 * count and the raw little-endian elements. Only the small header is read; the elements stay in the file.
 */
import { CheckpointImportError } from '../errors.js';
import { unpickle, type UnpickleOptions } from './interpreter.js';
import { BufferedReader, LazyBytes, MemorySource } from './source.js';
import { STORAGE_TYPES } from './stand-ins.js';
import { DTYPE_BYTES, PyDict, PyGlobal, PyTuple, TorchStorage, typeName, type PyValue, type TorchDType } from './values.js';

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

interface StorageId {
  key: string;
  dtype: TorchDType;
  numel: number;
}

export function loadStorageStream(bytes: Uint8Array | LazyBytes, options: UnpickleOptions): TorchStorage {
  const range = bytes instanceof LazyBytes ? bytes : new LazyBytes(new MemorySource(bytes), 0, bytes.length);
  const where = bytes instanceof LazyBytes ? ` at byte ${range.offset}` : '';
  const bad = (why: string): never => {
    throw new CheckpointImportError(`torch storage stream${where}: ${why}`);
  };
  const reader = new BufferedReader(range.source, range.offset, range.offset + range.length);
  const plain: UnpickleOptions = { ...options, persistentLoad: undefined };

  const magic = unpickle(reader, plain);
  if (BigInt(typeof magic === 'number' || typeof magic === 'bigint' ? magic : -1) !== MAGIC) bad('bad magic number (not a torch.save stream)');
  const version = unpickle(reader, plain);
  if (version !== PROTOCOL_VERSION) bad(`unsupported torch.save protocol version ${String(version)}`);
  const sysInfo = unpickle(reader, plain);
  if (!(sysInfo instanceof PyDict) || sysInfo.get('little_endian') !== true) bad('only little-endian storages are supported');

  const ids: StorageId[] = [];
  const obj = unpickle(reader, {
    ...options,
    persistentLoad: (pid) => {
      const items = pid instanceof PyTuple ? pid.items : bad(`a persistent id that is a ${typeName(pid)}`);
      const [kind, type, key, , numel, view] = items;
      if (kind !== 'storage') bad(`a persistent id of kind ${JSON.stringify(kind)}`);
      const dtype = type instanceof PyGlobal && type.module === 'torch' ? STORAGE_TYPES[type.name] : undefined;
      if (!dtype) bad(`a storage of type ${typeName(type as PyValue)}`);
      if (typeof key !== 'string') bad('a storage key that is not a string');
      if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) bad(`a storage with ${String(numel)} elements`);
      if (view != null) bad('storage views are not supported');
      const id = { key: key as string, dtype: dtype as TorchDType, numel: numel as number };
      ids.push(id);
      return id as unknown as PyValue;
    },
  });
  if (ids.length !== 1 || (obj as unknown) !== ids[0]) bad('the stream does not hold exactly one storage');
  const keys = unpickle(reader, plain);
  if (!Array.isArray(keys) || keys.length !== 1 || keys[0] !== ids[0].key) bad('the storage key list does not match the storage');

  const { dtype, numel } = ids[0];
  const count = reader.bytes(8, 'the storage element count');
  const stored = Number(new DataView(count.buffer).getBigInt64(0, true));
  if (stored !== numel) bad(`the storage header says ${stored} elements, its id says ${numel}`);
  const size = numel * DTYPE_BYTES[dtype];
  if (size > reader.end - reader.position) {
    bad(`a storage of ${numel} ${dtype} elements (${size} bytes) does not fit in the ${reader.end - reader.position} bytes left`);
  }
  return new TorchStorage(dtype, numel, new LazyBytes(range.source, reader.position, size));
}
