/**
 * torch.save's legacy (pre-1.6, non-zip) format, which old published weights use (the lpips package's
 * v0.1 files, torchvision's 2017 VGG16): four pickles in a row (the magic number, the protocol version,
 * sys info, then the object, whose tensors name their storages by persistent ids ('storage', type, key,
 * location, numel, view)), a pickled list of storage keys, then per key an int64 element count and the raw
 * little-endian elements. The object pickle is read twice: once to learn the storages, once more, after their
 * bytes are located, to build tensors on them (it is small; the elements are never copied).
 */
import { CheckpointImportError } from '../errors.js';
import { unpickle, type UnpickleOptions } from './interpreter.js';
import { DEFAULT_LIMITS } from './limits.js';
import { BufferedReader, LazyBytes, type ByteSource } from './source.js';
import { loadStorageStream } from './torch-storage.js';
import { storageId, type StorageId } from './torch-zip.js';
import { DTYPE_BYTES, PyDict, TorchStorage, typeName, type PyValue } from './values.js';

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

export function unpickleTorchLegacy(source: ByteSource, what: string): PyValue {
  const bad = (why: string): never => {
    throw new CheckpointImportError(`${what}: ${why}`);
  };
  const limits = DEFAULT_LIMITS;
  const base: UnpickleOptions = {
    limits,
    loadStorage: (bytes) => loadStorageStream(bytes, base),
    decodeString: (s) => {
      if (s.bytes.length > limits.maxString) bad(`a string of ${s.bytes.length} bytes is longer than ${limits.maxString}`);
      return new TextDecoder('utf-8', { fatal: true }).decode(s.bytes.materialize());
    },
  };
  if (source.length === 0) bad('the file is empty');
  // torch.save pickles with protocol 2, whose first opcode is PROTO (0x80).
  if (source.read(0, 1)[0] !== 0x80) bad('not a torch.save file (neither a zip archive nor a pickle)');
  const reader = new BufferedReader(source);
  const magic = unpickle(reader, base);
  if (typeof magic !== 'bigint' && typeof magic !== 'number') bad('not a torch.save file (no magic number)');
  if (BigInt(magic as number | bigint) !== LEGACY_MAGIC) bad('not a torch.save file (bad magic number)');
  if (unpickle(reader, base) !== PROTOCOL_VERSION) bad('unsupported torch.save protocol version');
  const sysInfo = unpickle(reader, base);
  if (!(sysInfo instanceof PyDict) || sysInfo.get('little_endian') !== true) bad('only little-endian files are supported');

  const objectStart = reader.position;
  const ids = new Map<string, StorageId>();
  unpickle(reader, {
    ...base,
    persistentLoad: (pid) => {
      const id = storageId(pid, 6, bad);
      const known = ids.get(id.key);
      if (known && (known.dtype !== id.dtype || known.numel !== id.numel)) bad(`storage ${id.key} is referred to with two types or sizes`);
      ids.set(id.key, id);
      // A stand-in on no bytes: tensors check their extent against numel now; the second read gives the real one.
      return new TorchStorage(id.dtype, id.numel, new LazyBytes(source, 0, 0));
    },
  });
  const objectEnd = reader.position;
  const keys = unpickle(reader, base);
  if (!Array.isArray(keys) || keys.length !== ids.size || !keys.every((k) => typeof k === 'string' && ids.has(k)) || new Set(keys).size !== keys.length) {
    bad('the storage key list does not match the storages the object refers to');
  }
  const storages = new Map<string, TorchStorage>();
  let at = reader.position;
  for (const key of keys as string[]) {
    const { dtype, numel } = ids.get(key)!;
    if (at + 8 > source.length) bad(`storage ${key}: the file ends before its element count`);
    const count = Number(new DataView(source.read(at, 8).slice().buffer).getBigInt64(0, true));
    if (count !== numel) bad(`storage ${key}: the file says ${count} elements, its id says ${numel}`);
    const size = numel * DTYPE_BYTES[dtype];
    if (at + 8 + size > source.length) bad(`storage ${key}: ${size} bytes at ${at + 8} run past the end of the ${source.length}-byte file`);
    storages.set(key, new TorchStorage(dtype, numel, new LazyBytes(source, at + 8, size)));
    at += 8 + size;
  }
  return unpickle(new BufferedReader(source, objectStart, objectEnd), {
    ...base,
    persistentLoad: (pid) => storages.get(storageId(pid, 6, bad).key) ?? bad(`a storage that was not there on the first read (${typeName(pid)})`),
  });
}
