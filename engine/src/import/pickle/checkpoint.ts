/**
 * Reads a checkpoint pickle from disk into inert data: one forward pass through the file in fixed-size
 * chunks, large payloads left in place as (offset, length), storages reduced to where their raw data lies.
 */
import { CheckpointImportError } from '../errors.js';
import { unpickle, type UnpickleOptions } from './interpreter.js';
import { DEFAULT_LIMITS, type PickleLimits } from './limits.js';
import { BufferedReader, FileSource, type ByteSource } from './source.js';
import { loadStorageStream } from './torch-storage.js';
import type { PyValue } from './values.js';

export interface ReadProgress {
  /** Bytes of the file read so far, and its size. */
  done: number;
  total: number;
}

export interface ReadOptions {
  limits?: Partial<PickleLimits>;
  onProgress?: (p: ReadProgress) => void;
}

export interface Checkpoint {
  root: PyValue;
  sha256: string;
  size: number;
  source: ByteSource;
  close(): void;
}

export function unpickleSource(source: ByteSource, options: ReadOptions = {}, hashing = false): { root: PyValue; digest: () => string } {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const reader = new BufferedReader(source, 0, source.length, (pos) => options.onProgress?.({ done: pos, total: source.length }), hashing);
  const ctx: UnpickleOptions = {
    limits,
    loadStorage: (bytes) => loadStorageStream(bytes, ctx),
    decodeString: (s) => {
      if (s.bytes.length > limits.maxString) throw new CheckpointImportError(`a string of ${s.bytes.length} bytes is longer than ${limits.maxString}`);
      return new TextDecoder('utf-8', { fatal: true }).decode(s.bytes.materialize());
    },
  };
  if (source.length === 0) throw new CheckpointImportError('the file is empty');
  const root = unpickle(reader, ctx);
  return { root, digest: () => reader.digest() };
}

export function readCheckpoint(path: string, options: ReadOptions = {}): Checkpoint {
  const source = new FileSource(path);
  try {
    const { root, digest } = unpickleSource(source, options, true);
    return { root, sha256: digest(), size: source.length, source, close: () => source.close() };
  } catch (err) {
    source.close();
    throw err;
  }
}
