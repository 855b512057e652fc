/**
 * Stride-1 3x3 convolution by Winograd's minimal filtering F(2x2, 3x3): each 2x2 output tile costs 16
 * multiply-adds per input/output channel pair instead of 36, i.e. 2.25x fewer than the direct convolution.
 * The 16 products are 16 plain matrix multiplications [tiles, in] x [in, out], which tfjs's wasm backend runs
 * on XNNPACK's GEMM at about the speed of its convolution (its batched matMul is far slower, so they stay
 * separate); the tile transforms are adds and strided slices over activation-sized tensors.
 *
 * The filter transform G g G^T is done once per filter. Rounding differs from the direct convolution at
 * float-noise level (the transforms only add, subtract and halve).
 */
import * as tf from '@tensorflow/tfjs';

/** The 16 transformed filters U[a][b] = (G g G^T)[a][b], each [in, out], for a [3, 3, in, out] filter. */
export type WinogradFilter = tf.Tensor2D[];

const G = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];

export function winogradFilter(filter: tf.Tensor4D): WinogradFilter {
  const [kh, kw, ci, co] = filter.shape;
  if (kh !== 3 || kw !== 3) throw new Error(`winogradFilter needs a 3x3 filter, got ${kh}x${kw}`);
  const g = filter.dataSync();
  const n = ci * co;
  const out: tf.Tensor2D[] = [];
  for (let a = 0; a < 4; a++) {
    for (let b = 0; b < 4; b++) {
      const u = new Float32Array(n);
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 3; x++) {
          const c = G[a][y] * G[b][x];
          if (c === 0) continue;
          const base = (y * 3 + x) * n;
          for (let i = 0; i < n; i++) u[i] += c * g[base + i];
        }
      }
      out.push(tf.tensor2d(u, [ci, co]));
    }
  }
  return out;
}

/**
 * Valid 3x3 convolution of `x` [1, H + 2, W + 2, in] (already padded) with a transformed filter: output
 * [1, H, W, out]. H and W must be even.
 *
 * The tile transforms run in JavaScript over the tensors' memory, one pass each: as tfjs ops they would be
 * 16 strided slices (slow generic kernels on wasm) and ~50 elementwise ops.
 */
export function winogradConvValid(x: tf.Tensor4D, u: WinogradFilter): tf.Tensor4D {
  const [n, hp, wp, ci] = x.shape;
  const th = (hp - 2) / 2;
  const tw = (wp - 2) / 2;
  if (n !== 1 || !Number.isInteger(th) || !Number.isInteger(tw)) throw new Error(`winogradConvValid needs batch 1 and an even output size, got ${x.shape}`);
  const co = u[0].shape[1];
  const t = th * tw;
  const heap = wasmHeap();
  const v = Array.from({ length: 16 }, () => heap.alloc([t, ci]));
  inputTransform(heap.read(x), v.map((vk) => heap.view(vk)), th, tw, wp, ci);
  const vt = v.map((vk) => heap.tensor(vk) as tf.Tensor2D);
  const m = vt.map((vk, k) => tf.matMul(vk, u[k]));
  tf.dispose(vt);
  const y = heap.alloc([1, 2 * th, 2 * tw, co]);
  outputTransform(m.map((mk) => heap.read(mk)), heap.view(y), th, tw, co);
  tf.dispose(m);
  return heap.tensor(y) as tf.Tensor4D;
}

interface HeapAccess {
  alloc(shape: number[]): TensorInfo;
  /** A view of an allocation's memory; take views only after the last allocation (the heap may grow). */
  view(info: TensorInfo): Float32Array;
  read(t: tf.Tensor): Float32Array;
  tensor(info: TensorInfo): tf.Tensor;
}
type TensorInfo = { dataId: object; shape: number[]; dtype: 'float32' };

/**
 * Tensor memory without copies: on the wasm backend, views into its heap (tfjs's own kernels work the same
 * way); elsewhere plain arrays copied in and out.
 */
function wasmHeap(): HeapAccess {
  const backend = tf.backend() as unknown as {
    makeOutput?: (shape: number[], dtype: 'float32') => TensorInfo;
    typedArrayFromHeap?: (info: TensorInfo) => Float32Array;
  };
  if (tf.getBackend() === 'wasm' && backend.makeOutput && backend.typedArrayFromHeap) {
    const make = backend.makeOutput.bind(backend);
    const fromHeap = backend.typedArrayFromHeap.bind(backend);
    return {
      alloc: (shape) => make(shape, 'float32'),
      view: (info) => fromHeap(info),
      read: (t) => fromHeap({ dataId: t.dataId, shape: t.shape, dtype: 'float32' }),
      tensor: (info) => tf.engine().makeTensorFromTensorInfo(info),
    };
  }
  const data = new Map<object, Float32Array>();
  return {
    alloc: (shape) => {
      const info = { dataId: {}, shape, dtype: 'float32' as const };
      data.set(info.dataId, new Float32Array(shape.reduce((a, b) => a * b, 1)));
      return info;
    },
    view: (info) => data.get(info.dataId)!,
    read: (t) => t.dataSync() as Float32Array,
    tensor: (info) => tf.tensor(data.get(info.dataId)!, info.shape),
  };
}

/** V[a * 4 + b] = (B^T d B)[a][b] for every tile, [tiles, in] each; B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]. */
function inputTransform(x: Float32Array, v: Float32Array[], th: number, tw: number, wp: number, c: number): void {
  const [v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15] = v;
  const row = wp * c;
  for (let i = 0; i < th; i++) {
    for (let j = 0; j < tw; j++) {
      const tile = (i * tw + j) * c;
      const base = (2 * i * wp + 2 * j) * c;
      for (let k = 0; k < c; k++) {
        const p = base + k;
        const d00 = x[p], d01 = x[p + c], d02 = x[p + 2 * c], d03 = x[p + 3 * c];
        const d10 = x[p + row], d11 = x[p + row + c], d12 = x[p + row + 2 * c], d13 = x[p + row + 3 * c];
        const d20 = x[p + 2 * row], d21 = x[p + 2 * row + c], d22 = x[p + 2 * row + 2 * c], d23 = x[p + 2 * row + 3 * c];
        const d30 = x[p + 3 * row], d31 = x[p + 3 * row + c], d32 = x[p + 3 * row + 2 * c], d33 = x[p + 3 * row + 3 * c];
        // Over rows (a): r[a'][b].
        const r00 = d00 - d20, r01 = d01 - d21, r02 = d02 - d22, r03 = d03 - d23;
        const r10 = d10 + d20, r11 = d11 + d21, r12 = d12 + d22, r13 = d13 + d23;
        const r20 = d20 - d10, r21 = d21 - d11, r22 = d22 - d12, r23 = d23 - d13;
        const r30 = d10 - d30, r31 = d11 - d31, r32 = d12 - d32, r33 = d13 - d33;
        const q = tile + k;
        // Over columns (b).
        v0[q] = r00 - r02; v1[q] = r01 + r02; v2[q] = r02 - r01; v3[q] = r01 - r03;
        v4[q] = r10 - r12; v5[q] = r11 + r12; v6[q] = r12 - r11; v7[q] = r11 - r13;
        v8[q] = r20 - r22; v9[q] = r21 + r22; v10[q] = r22 - r21; v11[q] = r21 - r23;
        v12[q] = r30 - r32; v13[q] = r31 + r32; v14[q] = r32 - r31; v15[q] = r31 - r33;
      }
    }
  }
}

/** Y = A^T M A per tile, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], written to the interleaved [2 th, 2 tw, out] output. */
function outputTransform(m: Float32Array[], y: Float32Array, th: number, tw: number, c: number): void {
  const w = 2 * tw;
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15] = m;
  for (let i = 0; i < th; i++) {
    for (let j = 0; j < tw; j++) {
      const tile = (i * tw + j) * c;
      const o00 = (2 * i * w + 2 * j) * c;
      const o10 = o00 + w * c;
      for (let k = 0; k < c; k++) {
        const q = tile + k;
        // Over rows: s0 = M0 + M1 + M2, s1 = M1 - M2 - M3 (per column b).
        const s00 = m0[q] + m4[q] + m8[q], s01 = m1[q] + m5[q] + m9[q], s02 = m2[q] + m6[q] + m10[q], s03 = m3[q] + m7[q] + m11[q];
        const s10 = m4[q] - m8[q] - m12[q], s11 = m5[q] - m9[q] - m13[q], s12 = m6[q] - m10[q] - m14[q], s13 = m7[q] - m11[q] - m15[q];
        y[o00 + k] = s00 + s01 + s02;
        y[o00 + c + k] = s01 - s02 - s03;
        y[o10 + k] = s10 + s11 + s12;
        y[o10 + c + k] = s11 - s12 - s13;
      }
    }
  }
}
