/**
 * Reads what the studio needs to list a model from its model.safetensors header alone: the validated config
 * and the file's identity. The tensors are never read (a 1024 px model is hundreds of MB; the header is a few
 * KB), so scanning a models directory stays cheap enough for the main thread. Every way a file can be wrong
 * ends in a ModelHeaderError whose message says what is wrong, in words a person installing models can act on.
 */
import { closeSync, fstatSync, openSync, readSync, constants as fsConstants } from 'node:fs';
import { CONFIG_METADATA_KEY, validateConfig, type ModelConfig } from '../../engine/src/model/config.js';

/**
 * Headers larger than this are refused before they are read. A 1024 px StyleGAN2 header (~400 tensors and
 * the config) is about 60 KB; the cap leaves room for far larger models and bounds what a scan allocates.
 */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export class ModelHeaderError extends Error {}

export interface ModelHeader {
  config: ModelConfig;
  /** Bytes of the whole file. */
  fileBytes: number;
  /** Changes whenever the file is replaced or rewritten (size and modification time), so caches keyed on it never serve old weights. */
  identity: string;
}

/** `${size}:${mtime}`: what the worker, the registry and the step statistics agree a model file version is. */
export function fileIdentity(stat: { size: number; mtimeMs: number }): string {
  return `${stat.size}:${Math.round(stat.mtimeMs)}`;
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  if (done < length) throw new ModelHeaderError(`file ended after ${position + done} bytes while reading its header (truncated?)`);
  return buf;
}

function parseHeader(bytes: Buffer): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ModelHeaderError(`not a safetensors file: its header is not JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new ModelHeaderError('not a safetensors file: its header is not a JSON object');
  return header as Record<string, unknown>;
}

/** The end of the last tensor's bytes, checking each entry's offsets are whole numbers in order. */
function tensorBytesEnd(header: Record<string, unknown>): number {
  let end = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const offsets = (entry as { data_offsets?: unknown } | null)?.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
      throw new ModelHeaderError(`tensor '${name.slice(0, 80)}' has bad data_offsets ${JSON.stringify(offsets)?.slice(0, 80)}`);
    }
    end = Math.max(end, offsets[1]);
  }
  return end;
}

function configOf(header: Record<string, unknown>): ModelConfig {
  const meta = header.__metadata__;
  const raw = meta && typeof meta === 'object' ? (meta as Record<string, unknown>)[CONFIG_METADATA_KEY] : undefined;
  if (typeof raw !== 'string') {
    throw new ModelHeaderError(`no '${CONFIG_METADATA_KEY}' entry in the safetensors metadata (import the model with \`stabledrag import\`)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ModelHeaderError(`the config in the metadata is not valid JSON (${(err as Error).message})`);
  }
  try {
    return validateConfig(parsed);
  } catch (err) {
    throw new ModelHeaderError((err as Error).message);
  }
}

/**
 * Reads and checks the header of the safetensors file at `file` (already resolved to a real path by the
 * caller). Refuses anything that is not a regular file; the descriptor is opened without following a final
 * symlink, so a file swapped for a link after the caller checked it is not read either.
 */
export function readModelHeader(file: string): ModelHeader {
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelHeaderError('the file is missing');
    if (code === 'ELOOP') throw new ModelHeaderError('the file is a symbolic link that moved while it was read');
    throw new ModelHeaderError(`the file cannot be opened (${code ?? (err as Error).message})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ModelHeaderError('not a regular file');
    if (stat.size < 8) throw new ModelHeaderError(`the file is ${stat.size} bytes, too short for a safetensors header`);
    const length = readExactly(fd, 8, 0).readBigUInt64LE(0);
    if (length < 2n || length > BigInt(MAX_HEADER_BYTES)) {
      throw new ModelHeaderError(`not a safetensors file: its header length ${length} is outside 2..${MAX_HEADER_BYTES} bytes`);
    }
    const headerBytes = Number(length);
    if (8 + headerBytes > stat.size) throw new ModelHeaderError(`the header says ${headerBytes} bytes but the file has only ${stat.size - 8} after the length (truncated?)`);
    const header = parseHeader(readExactly(fd, headerBytes, 8));
    const config = configOf(header);
    const expected = 8 + headerBytes + tensorBytesEnd(header);
    if (stat.size < expected) throw new ModelHeaderError(`the file is truncated: ${stat.size} bytes, its header describes ${expected}`);
    if (stat.size > expected) throw new ModelHeaderError(`the file has ${stat.size - expected} bytes beyond the tensors its header describes`);
    return { config, fileBytes: stat.size, identity: fileIdentity(stat) };
  } finally {
    closeSync(fd);
  }
}
