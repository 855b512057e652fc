/**
 * Stride-1 3x3 convolution by Winograd's minimal filtering (Lavin & Gray 2016): F(4x4, 3x3) computes each
 * 4x4 output tile from a 6x6 input tile with 36 multiply-adds per input/output channel pair instead of 144
 * (4x fewer than the direct convolution), F(2x2, 3x3) each 2x2 tile with 16 instead of 36 (2.25x), for output
 * sizes that are only even. The products are plain matrix multiplications [tiles, in] x [in, out], one per
 * tile position, which tfjs's wasm backend runs on XNNPACK's GEMM at about the speed of its convolution
 * (its batched matMul is far slower, so they stay separate).
 *
 * The filter transform G g G^T is done once per filter. F(2x2) only adds, subtracts and halves; F(4x4)'s
 * transforms have coefficients up to 8 and 1/24, which costs ~1e-6 relative error in fp32, float noise next
 * to the tolerance of the parity tests (1e-3).
 */
import * as tf from '@tensorflow/tfjs';

/** Output tile size m of F(m x m, 3x3) and the (m+2)^2 transformed filters U[a][b] = (G g G^T)[a][b], [in, out] each. */
export interface WinogradFilter {
  tile: 2 | 4;
  u: tf.Tensor2D[];
}

const G2 = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];
const G4 = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];

export function winogradFilter(filter: tf.Tensor4D, tile: 2 | 4): WinogradFilter {
  const [kh, kw, ci, co] = filter.shape;
  if (kh !== 3 || kw !== 3) throw new Error(`winogradFilter needs a 3x3 filter, got ${kh}x${kw}`);
  const G = tile === 2 ? G2 : G4;
  const size = tile + 2;
  const g = filter.dataSync();
  const n = ci * co;
  const out: tf.Tensor2D[] = [];
  for (let a = 0; a < size; a++) {
    for (let b = 0; b < size; b++) {
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
  return { tile, u: out };
}

/**
 * Valid 3x3 convolution of `x` [1, H + 2, W + 2, in] (already padded) with a transformed filter: output
 * [1, H, W, out]. H and W must be multiples of the filter's tile size.
 *
 * The tile transforms run in JavaScript over the tensors' memory, one pass each: as tfjs ops they would be
 * strided slices (slow generic kernels on wasm) and dozens of elementwise ops.
 */
export function winogradConvValid(x: tf.Tensor4D, f: WinogradFilter): tf.Tensor4D {
  const [n, hp, wp, ci] = x.shape;
  const m = f.tile;
  const th = (hp - 2) / m;
  const tw = (wp - 2) / m;
  if (n !== 1 || !Number.isInteger(th) || !Number.isInteger(tw)) throw new Error(`winogradConvValid needs batch 1 and an output size divisible by ${m}, got input ${x.shape}`);
  const co = f.u[0].shape[1];
  const t = th * tw;
  const heap = wasmHeap();
  const v = f.u.map(() => heap.alloc([t, ci]));
  (m === 2 ? inputTransform2 : inputTransform4)(heap.read(x), v.map((vk) => heap.view(vk)), th, tw, wp, ci);
  const vt = v.map((vk) => heap.tensor(vk) as tf.Tensor2D);
  const prods = vt.map((vk, k) => tf.matMul(vk, f.u[k]));
  tf.dispose(vt);
  const y = heap.alloc([1, m * th, m * tw, co]);
  (m === 2 ? outputTransform2 : outputTransform4)(prods.map((p) => heap.read(p)), heap.view(y), th, tw, co);
  tf.dispose(prods);
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
function inputTransform2(x: Float32Array, v: Float32Array[], th: number, tw: number, wp: number, c: number): void {
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
function outputTransform2(m: Float32Array[], y: Float32Array, th: number, tw: number, c: number): void {
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

/** F(4x4, 3x3) input transform B^T d B per 6x6 tile (stride 4), 36 outputs [tiles, in]. */
function inputTransform4(x: Float32Array, v: Float32Array[], th: number, tw: number, wp: number, c: number): void {
  const d = new Float64Array(36);
  const r = new Float64Array(36);
  const row = wp * c;
  for (let i = 0; i < th; i++) {
    for (let j = 0; j < tw; j++) {
      const tile = (i * tw + j) * c;
      const base = (4 * i * wp + 4 * j) * c;
      for (let k = 0; k < c; k++) {
        const p = base + k;
        for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) d[a * 6 + b] = x[p + a * row + b * c];
        // Over rows (a), for every column b.
        for (let b = 0; b < 6; b++) {
          const d0 = d[b], d1 = d[6 + b], d2 = d[12 + b], d3 = d[18 + b], d4 = d[24 + b], d5 = d[30 + b];
          r[b] = 4 * d0 - 5 * d2 + d4;
          r[6 + b] = -4 * (d1 + d2) + d3 + d4;
          r[12 + b] = 4 * (d1 - d2) - d3 + d4;
          r[18 + b] = 2 * (d3 - d1) - d2 + d4;
          r[24 + b] = 2 * (d1 - d3) - d2 + d4;
          r[30 + b] = 4 * d1 - 5 * d3 + d5;
        }
        const q = tile + k;
        // Over columns (b), for every row a.
        for (let a = 0; a < 6; a++) {
          const o = a * 6;
          const d0 = r[o], d1 = r[o + 1], d2 = r[o + 2], d3 = r[o + 3], d4 = r[o + 4], d5 = r[o + 5];
          v[o][q] = 4 * d0 - 5 * d2 + d4;
          v[o + 1][q] = -4 * (d1 + d2) + d3 + d4;
          v[o + 2][q] = 4 * (d1 - d2) - d3 + d4;
          v[o + 3][q] = 2 * (d3 - d1) - d2 + d4;
          v[o + 4][q] = 2 * (d1 - d3) - d2 + d4;
          v[o + 5][q] = 4 * d1 - 5 * d3 + d5;
        }
      }
    }
  }
}

/** F(4x4, 3x3) output transform A^T M A, A^T = [[1,1,1,1,1,0],[0,1,-1,2,-2,0],[0,1,1,4,4,0],[0,1,-1,8,-8,1]]. */
function outputTransform4(m: Float32Array[], y: Float32Array, th: number, tw: number, c: number): void {
  const w = 4 * tw;
  const s = new Float64Array(24);
  for (let i = 0; i < th; i++) {
    for (let j = 0; j < tw; j++) {
      const tile = (i * tw + j) * c;
      const out = (4 * i * w + 4 * j) * c;
      for (let k = 0; k < c; k++) {
        const q = tile + k;
        // Over rows (a) for every column b: s[p * 6 + b], p = output row in the tile.
        for (let b = 0; b < 6; b++) {
          const m0 = m[b][q], m1 = m[6 + b][q], m2 = m[12 + b][q], m3 = m[18 + b][q], m4 = m[24 + b][q], m5 = m[30 + b][q];
          const a12 = m1 + m2, s12 = m1 - m2, a34 = m3 + m4, s34 = m3 - m4;
          s[b] = m0 + a12 + a34;
          s[6 + b] = s12 + 2 * s34;
          s[12 + b] = a12 + 4 * a34;
          s[18 + b] = s12 + 8 * s34 + m5;
        }
        for (let p = 0; p < 4; p++) {
          const o = p * 6;
          const m0 = s[o], m1 = s[o + 1], m2 = s[o + 2], m3 = s[o + 3], m4 = s[o + 4], m5 = s[o + 5];
          const a12 = m1 + m2, s12 = m1 - m2, a34 = m3 + m4, s34 = m3 - m4;
          const at = out + p * w * c + k;
          y[at] = m0 + a12 + a34;
          y[at + c] = s12 + 2 * s34;
          y[at + 2 * c] = a12 + 4 * a34;
          y[at + 3 * c] = s12 + 8 * s34 + m5;
        }
      }
    }
  }
}
