/**
 * Reads the values of one tensor (a torch tensor or a numpy array) from where they lie in the file,
 * as fp32 in row-major order. Only the bytes of that tensor are read.
 */
import { CheckpointImportError } from '../errors.js';
import { halfToFloat } from '../../io/safetensors.js';
import { LazyBytes } from './source.js';
import { DTYPE_BYTES, NdArray, TorchTensor, type TorchDType } from './values.js';

export interface TensorValues {
  shape: number[];
  data: Float32Array;
}

const NUMPY_DTYPES: Record<string, TorchDType> = { f4: 'F32', f2: 'F16', f8: 'F64', i8: 'I64', i4: 'I32', i2: 'I16', i1: 'I8', u1: 'U8', b1: 'BOOL' };

function decoder(dtype: TorchDType, bytes: Uint8Array, littleEndian = true): (i: number) => number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': return (i) => dv.getFloat32(i * 4, littleEndian);
    case 'F64': return (i) => dv.getFloat64(i * 8, littleEndian);
    case 'F16': return (i) => halfToFloat(dv.getUint16(i * 2, littleEndian));
    case 'BF16': return (i) => bf16ToFloat(dv.getUint16(i * 2, littleEndian));
    case 'I64': return (i) => Number(dv.getBigInt64(i * 8, littleEndian));
    case 'I32': return (i) => dv.getInt32(i * 4, littleEndian);
    case 'I16': return (i) => dv.getInt16(i * 2, littleEndian);
    case 'I8': return (i) => dv.getInt8(i);
    case 'U8': case 'BOOL': return (i) => dv.getUint8(i);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bf16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** Gathers elements at storage offset + sum(index_i * stride_i) in row-major index order. */
function gather(shape: number[], strides: number[], base: number, get: (i: number) => number): Float32Array {
  const numel = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(numel);
  if (numel === 0) return out;
  const idx = new Array(shape.length).fill(0);
  let pos = base;
  for (let n = 0; n < numel; n++) {
    out[n] = get(pos);
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      pos += strides[d];
      if (idx[d] < shape[d]) break;
      pos -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function rowMajorStrides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

export function tensorValues(t: TorchTensor | NdArray, what: string): TensorValues {
  if (t instanceof TorchTensor) {
    const width = DTYPE_BYTES[t.dtype];
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel === 0) return { shape: t.shape, data: new Float32Array(0) };
    const last = t.offset + t.shape.reduce((acc, d, i) => acc + (d - 1) * t.stride[i], 0);
    const span = t.storage.data;
    const bytes = span.source.read(span.offset + t.offset * width, (last - t.offset + 1) * width);
    const contiguous = t.stride.every((s, i) => t.shape[i] === 1 || s === rowMajorStrides(t.shape)[i]);
    if (contiguous && t.dtype === 'F32' && bytes.length === numel * 4) {
      // The common case: copy the little-endian floats as they are.
      const copy = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
      return { shape: t.shape, data: new Float32Array(copy.buffer, copy.byteOffset, numel) };
    }
    return { shape: t.shape, data: gather(t.shape, t.stride, 0, decoder(t.dtype, bytes)) };
  }
  const spec = t.dtype?.spec ?? '';
  const dtype = NUMPY_DTYPES[spec];
  if (!dtype || !t.data) throw new CheckpointImportError(`${what}: numpy dtype '${spec}' is not a numeric type`);
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const size = numel * DTYPE_BYTES[dtype];
  const length = t.data instanceof LazyBytes ? t.data.length : t.data.length;
  if (length !== size) throw new CheckpointImportError(`${what}: a numpy array of shape [${t.shape}] '${spec}' holds ${length} bytes, expected ${size}`);
  const bytes = t.data instanceof LazyBytes ? t.data.materialize() : t.data;
  const strides = t.fortran ? rowMajorStrides([...t.shape].reverse()).reverse() : rowMajorStrides(t.shape);
  return { shape: t.shape, data: gather(t.shape, strides, 0, decoder(dtype, bytes, t.dtype!.byteorder !== '>')) };
}
