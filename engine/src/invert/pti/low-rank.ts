/**
 * Singular value decomposition of small dense matrices (a generator layer's weight delta: at most a few
 * hundred rows or columns on the smaller side) for storing pivotal-tuning deltas in low rank.
 *
 * Method: the eigen-decomposition of the smaller Gram matrix (M M^T or M^T M). Squaring the matrix loses
 * the smallest singular values' precision, which truncation discards anyway; in exchange the products run
 * as tfjs matMuls and the only O(min(m, n)^3) step is one eigen-decomposition, with no dependency.
 */
import * as tf from '@tensorflow/tfjs';

export interface Svd {
  rows: number;
  cols: number;
  /** The matrix itself (the factors of a rank are products with it). */
  matrix: Float32Array;
  /** Singular values, descending (min(rows, cols) of them). */
  s: Float64Array;
  /**
   * Singular vectors of the smaller side, min x min row-major (column j belongs to s[j]): left vectors
   * when rows <= cols, right vectors otherwise.
   */
  vectors: Float64Array;
}

/**
 * Eigenvalues (descending) and eigenvectors (columns of an n x n row-major matrix) of a symmetric matrix:
 * Householder reduction to tridiagonal form, then the implicit QL algorithm (the EISPACK tred2 / tql2 pair,
 * as in JAMA), O(n^3) once rather than per sweep as Jacobi rotations would be.
 */
function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const at = (i: number, j: number) => i * n + j;
  for (let j = 0; j < n; j++) d[j] = V[at(n - 1, j)];
  // Householder tridiagonalisation.
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[at(i - 1, j)];
        V[at(i, j)] = 0;
        V[at(j, i)] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[at(j, i)] = f;
        g = e[j] + V[at(j, j)] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[at(k, j)] * d[k];
          e[k] += V[at(k, j)] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[at(k, j)] -= f * e[k] + g * d[k];
        d[j] = V[at(i - 1, j)];
        V[at(i, j)] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[at(n - 1, i)] = V[at(i, i)];
    V[at(i, i)] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[at(k, i + 1)] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[at(k, i + 1)] * V[at(k, j)];
        for (let k = 0; k <= i; k++) V[at(k, j)] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[at(k, i + 1)] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[at(n - 1, j)];
    V[at(n - 1, j)] = 0;
  }
  V[at(n - 1, n - 1)] = 1;
  e[0] = 0;
  // Implicit QL on the tridiagonal matrix. Its rotations combine columns of V: work on V's transpose, whose
  // rows are contiguous.
  const T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) T[j * n + i] = V[i * n + j];
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      for (let iter = 0; iter < 100; iter++) {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const r0 = i * n;
          const r1 = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const vk1 = T[r1 + k];
            const vk = T[r0 + k];
            T[r1 + k] = s * vk + c * vk1;
            T[r0 + k] = c * vk - s * vk1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]) > eps * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j] - d[i]);
  const values = Float64Array.from(order, (i) => Math.max(0, d[i]));
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors[k * n + dst] = T[src * n + k];
  });
  return { values, vectors };
}

/**
 * The SVD of a rows x cols row-major matrix. The Gram matrix is formed by tfjs's matMul in float32 (the
 * factors are stored in float16, so float32 loses nothing that is kept); the eigen-decomposition runs in
 * float64.
 */
export function svd(m: Float32Array, rows: number, cols: number): Svd {
  const tall = rows > cols;
  const n = tall ? cols : rows;
  const gram = tf.tidy(() => {
    const M = tf.tensor2d(m, [rows, cols]);
    return tall ? tf.matMul(M, M, true, false) : tf.matMul(M, M, false, true);
  });
  const g = Float64Array.from(gram.dataSync());
  gram.dispose();
  // Symmetrise: float32 matMul may differ in the last bit across the diagonal.
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) g[i * n + j] = g[j * n + i] = (g[i * n + j] + g[j * n + i]) / 2;
  const { values, vectors } = symmetricEigen(g, n);
  return { rows, cols, matrix: m, s: values.map(Math.sqrt), vectors };
}

/** The smallest rank whose singular values hold `energy` (0..1] of the squared Frobenius norm. */
export function rankForEnergy(s: Float64Array, energy: number): number {
  let total = 0;
  for (const x of s) total += x * x;
  if (total === 0) return 0;
  let acc = 0;
  for (let k = 0; k < s.length; k++) {
    acc += s[k] * s[k];
    if (acc >= energy * total) return k + 1;
  }
  return s.length;
}

/**
 * Rank-k factors a (rows x k) and b (k x cols) with a b the best rank-k approximation: the projection of
 * the matrix onto its top k singular vectors of the smaller side (U_k U_k^T M or M V_k V_k^T), split as
 * a = U_k S_k, b = S_k^-1 U_k^T M (or a = M V_k, b = V_k^T). Only the k products needed are formed.
 */
export function lowRankFactors(d: Svd, k: number): { a: Float32Array; b: Float32Array } {
  const tall = d.rows > d.cols;
  const n = tall ? d.cols : d.rows;
  const vk = new Float32Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) vk[i * k + j] = d.vectors[i * n + j];
  return tf.tidy(() => {
    const M = tf.tensor2d(d.matrix, [d.rows, d.cols]);
    const V = tf.tensor2d(vk, [n, k]);
    if (tall) return { a: tf.matMul(M, V).dataSync() as Float32Array, b: tf.transpose(V).dataSync() as Float32Array };
    const inv = Float32Array.from(d.s.subarray(0, k), (x) => (x > d.s[0] * 1e-12 ? 1 / x : 0));
    const scale = Float32Array.from(d.s.subarray(0, k));
    const a = tf.mul(V, tf.tensor1d(scale)).dataSync() as Float32Array;
    const b = tf.mul(tf.matMul(V, M, true, false), tf.reshape(tf.tensor1d(inv), [k, 1])).dataSync() as Float32Array;
    return { a, b };
  });
}

/** a (rows x k) times b (k x cols), row-major. */
export function multiplyFactors(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, k: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < k; j++) {
      const x = a[i * k + j];
      if (x === 0) continue;
      for (let c = 0; c < cols; c++) out[i * cols + c] += x * b[j * cols + c];
    }
  return out;
}
