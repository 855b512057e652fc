/**
 * Reading and writing the safetensors format (8-byte little-endian header length, a JSON header, raw
 * little-endian tensor bytes). Only F32 and F16 are supported: they are all the generator format uses.
 * Every structural problem is reported with the tensor's name, so a corrupt file says where it is corrupt.
 */
export type SafeDtype = 'F32' | 'F16';

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** Values converted to fp32. */
  data: Float32Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, SafeTensor>;
}

export class SafetensorsError extends Error {}

const BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** fp32 -> fp16 bits with round-to-nearest-even (what numpy/PyTorch do). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw new SafetensorsError(`file is ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER || 8 + headerLen > bytes.length) {
    throw new SafetensorsError(`header length ${headerLen} does not fit in a ${bytes.length}-byte file`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    throw new SafetensorsError(`header is not valid JSON: ${(err as Error).message}`);
  }
  const body = bytes.subarray(8 + headerLen);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafeTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) metadata[k] = String(v);
      continue;
    }
    tensors.set(name, decodeEntry(name, entry, body));
  }
  return { metadata, tensors };
}

function decodeEntry(name: string, entry: unknown, body: Uint8Array): SafeTensor {
  const e = entry as { dtype?: string; shape?: unknown; data_offsets?: unknown };
  if (e?.dtype !== 'F32' && e?.dtype !== 'F16') {
    throw new SafetensorsError(`tensor '${name}': unsupported dtype ${JSON.stringify(e?.dtype)} (expected F32 or F16)`);
  }
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new SafetensorsError(`tensor '${name}': bad shape ${JSON.stringify(shape)}`);
  }
  const offsets = e.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
    throw new SafetensorsError(`tensor '${name}': bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const [start, end] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const width = BYTES[e.dtype];
  if (end - start !== count * width || end > body.length) {
    throw new SafetensorsError(
      `tensor '${name}': data_offsets [${start}, ${end}] do not hold ${count} ${e.dtype} values in a ${body.length}-byte body`,
    );
  }
  const raw = body.subarray(start, end);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const data = new Float32Array(count);
  if (e.dtype === 'F32') for (let i = 0; i < count; i++) data[i] = dv.getFloat32(i * 4, true);
  else for (let i = 0; i < count; i++) data[i] = halfToFloat(dv.getUint16(i * 2, true));
  return { dtype: e.dtype, shape: shape as number[], data };
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
  dtype: SafeDtype;
}

export function serializeSafetensors(tensors: Map<string, TensorToWrite>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const size = t.data.length * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so tensor data starts 8-byte aligned (as the reference writer does).
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    for (let i = 0; i < t.data.length; i++) {
      if (t.dtype === 'F32') dv.setFloat32(pos + i * 4, t.data[i], true);
      else dv.setUint16(pos + i * 2, floatToHalf(t.data[i]), true);
    }
    pos += t.data.length * BYTES[t.dtype];
  }
  return out;
}
