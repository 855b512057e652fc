/**
 * Job requests, steps and ends between web nodes and workers, and frames between web nodes, as one Buffer: a
 * JSON header with every Uint8Array / Float32Array / ArrayBuffer (decoded as Uint8Array) replaced by a
 * reference, then the arrays' bytes. Frames and latents travel as bytes, not as base64 or number lists (a
 * 1024 px frame is hundreds of kilobytes).
 */
const MAGIC = 0x53444a31; // "SDJ1"

type BinRef = { $bin: number; type: 'u8' | 'f32' };

export function encodeWire(value: unknown): Buffer {
  const chunks: Buffer[] = [];
  // The holder's own property, not `v`: JSON.stringify has already turned a Buffer into its toJSON() form.
  const header = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    if (raw instanceof Float32Array || raw instanceof Uint8Array) {
      chunks.push(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      return { $bin: chunks.length - 1, type: raw instanceof Float32Array ? 'f32' : 'u8' } satisfies BinRef;
    }
    if (raw instanceof ArrayBuffer) {
      chunks.push(Buffer.from(raw));
      return { $bin: chunks.length - 1, type: 'u8' } satisfies BinRef;
    }
    return v;
  });
  const head = Buffer.from(header, 'utf8');
  // [magic][header length][header][array count][each array's length][the arrays' bytes]
  const pre = Buffer.alloc(8);
  pre.writeUInt32LE(MAGIC, 0);
  pre.writeUInt32LE(head.byteLength, 4);
  const table = Buffer.alloc(4 + 4 * chunks.length);
  table.writeUInt32LE(chunks.length, 0);
  chunks.forEach((c, i) => table.writeUInt32LE(c.byteLength, 4 + 4 * i));
  return Buffer.concat([pre, head, table, ...chunks]);
}

export class WireFormatError extends Error {}

/** The inverse of encodeWire; throws WireFormatError on anything it did not write. */
export function decodeWire(buf: Buffer): unknown {
  const fail = (why: string): never => {
    throw new WireFormatError(`malformed job message: ${why}`);
  };
  if (buf.byteLength < 12 || buf.readUInt32LE(0) !== MAGIC) fail('bad magic');
  const headLength = buf.readUInt32LE(4);
  if (8 + headLength + 4 > buf.byteLength) fail('header past the end');
  const header = buf.toString('utf8', 8, 8 + headLength);
  const count = buf.readUInt32LE(8 + headLength);
  let at = 8 + headLength + 4;
  if (at + 4 * count > buf.byteLength) fail('array table past the end');
  const arrays: (Uint8Array | null)[] = [];
  let dataAt = at + 4 * count;
  for (let i = 0; i < count; i++, at += 4) {
    const n = buf.readUInt32LE(at);
    if (dataAt + n > buf.byteLength) fail('array past the end');
    // A copy: the message's Buffer may come from a pool, and Float32Array needs 4-byte alignment.
    arrays.push(new Uint8Array(buf.subarray(dataAt, dataAt + n)));
    dataAt += n;
  }
  return JSON.parse(header, (_key, v: unknown) => {
    if (v && typeof v === 'object' && typeof (v as BinRef).$bin === 'number') {
      const { $bin, type } = v as BinRef;
      const bytes = arrays[$bin] ?? fail(`no array ${$bin}`);
      if (type === 'u8') return bytes;
      if (bytes.byteLength % 4 !== 0) fail('float array of odd length');
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    }
    return v;
  });
}
