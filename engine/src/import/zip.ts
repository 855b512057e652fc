/**
 * A reader for the zip archives torch.save writes (PyTorchStreamWriter): entries STORED (uncompressed),
 * one disk, no encryption. Only the central directory and local headers are read; an entry's bytes stay in
 * the file as a LazyBytes range. Every offset and length is checked against the file before use, so a
 * crafted directory cannot point outside the file or make entries overlap the directory.
 */
import { CheckpointImportError } from './errors.js';
import { LazyBytes, type ByteSource } from './pickle/source.js';

const EOCD_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** Far more than a torch.save archive holds (one entry per storage plus a few); bounds the directory walk. */
const MAX_ENTRIES = 100_000;

export interface ZipEntry {
  name: string;
  data: LazyBytes;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The entries of a zip archive by name, or a CheckpointImportError saying why the file is not one we read. */
export function readZip(source: ByteSource, what: string): Map<string, ZipEntry> {
  const bad = (why: string): never => {
    throw new CheckpointImportError(`${what}: ${why}`);
  };
  const size = source.length;
  if (size < EOCD_SIZE) bad('not a zip archive (too short)');
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tail = source.read(size - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (view(tail).getUint32(i, true) === EOCD_SIG && i + EOCD_SIZE + view(tail).getUint16(i + 20, true) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) bad('not a zip archive (no end-of-directory record)');
  const eocd = view(tail.subarray(at, at + EOCD_SIZE));
  const count = eocd.getUint16(10, true);
  const dirSize = eocd.getUint32(12, true);
  const dirOffset = eocd.getUint32(16, true);
  if (eocd.getUint16(4, true) !== 0 || eocd.getUint16(6, true) !== 0 || eocd.getUint16(8, true) !== count) bad('multi-disk zip archives are not supported');
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) bad('zip64 archives are not supported (files over 4 GiB)');
  const dirEnd = size - tailLength + at;
  if (dirOffset + dirSize > dirEnd) bad(`the central directory (${dirSize} bytes at ${dirOffset}) runs past its end record`);
  if (count > MAX_ENTRIES) bad(`${count} entries (more than ${MAX_ENTRIES})`);
  const dir = source.read(dirOffset, dirSize);
  const d = view(dir);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > dir.length || d.getUint32(p, true) !== CENTRAL_SIG) bad(`central directory entry ${n} is cut or corrupt`);
    const flags = d.getUint16(p + 8, true);
    const method = d.getUint16(p + 10, true);
    const compressed = d.getUint32(p + 20, true);
    const length = d.getUint32(p + 24, true);
    const nameLength = d.getUint16(p + 28, true);
    const skip = nameLength + d.getUint16(p + 30, true) + d.getUint16(p + 32, true);
    const localOffset = d.getUint32(p + 42, true);
    if (p + 46 + skip > dir.length) bad(`central directory entry ${n} is cut`);
    let name: string;
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(dir.subarray(p + 46, p + 46 + nameLength));
    } catch {
      return bad(`central directory entry ${n} has a name that is not UTF-8`);
    }
    p += 46 + skip;
    if (flags & 1) bad(`${name} is encrypted`);
    if (method !== 0) bad(`${name} is compressed (method ${method}); torch.save stores entries uncompressed, and only those are read`);
    if (compressed !== length) bad(`${name} is stored but its sizes differ (${compressed} and ${length})`);
    if (entries.has(name)) bad(`${name} appears twice`);
    if (localOffset + 30 > dirOffset) bad(`${name}: its local header at ${localOffset} is not before the central directory`);
    const local = view(source.read(localOffset, 30));
    if (local.getUint32(0, true) !== LOCAL_SIG) bad(`${name}: no local header at ${localOffset}`);
    const dataOffset = localOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    if (dataOffset + length > dirOffset) bad(`${name}: its ${length} bytes at ${dataOffset} run into the central directory`);
    entries.set(name, { name, data: new LazyBytes(source, dataOffset, length) });
  }
  return entries;
}
