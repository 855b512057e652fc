/**
 * Singular value decomposition of small dense matrices (a generator layer's weight delta: at most a few
 * hundred rows or columns on the smaller side) for storing pivotal-tuning deltas in low rank.
 *
 * Method: the eigen-decomposition of the smaller Gram matrix (M M^T or M^T M) by cyclic Jacobi rotations, in
 * float64. Squaring the matrix loses the smallest singular values' precision, which truncation discards
 * anyway; in exchange the work is O(min(m, n)^3) per sweep with no dependency.
 */

export interface Svd {
  rows: number;
  cols: number;
  /** Singular values, descending. */
  s: Float64Array;
  /** Left singular vectors, rows x r (column j belongs to s[j]), row-major. */
  u: Float64Array;
  /** Right singular vectors, cols x r, row-major. */
  v: Float64Array;
}

/** Eigenvalues (descending) and eigenvectors (columns of an n x n row-major matrix) of a symmetric matrix. */
function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= 1e-22 * scale || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => Math.max(0, a[i * n + i]));
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

/** The SVD of a rows x cols row-major matrix. */
export function svd(m: ArrayLike<number>, rows: number, cols: number): Svd {
  const tall = rows > cols;
  // Work on the Gram matrix of the smaller side: G = M M^T (rows <= cols) or M^T M.
  const n = tall ? cols : rows;
  const g = new Float64Array(n * n);
  if (!tall) {
    for (let i = 0; i < rows; i++)
      for (let j = i; j < rows; j++) {
        let s = 0;
        for (let k = 0; k < cols; k++) s += m[i * cols + k] * m[j * cols + k];
        g[i * n + j] = g[j * n + i] = s;
      }
  } else {
    for (let i = 0; i < cols; i++)
      for (let j = i; j < cols; j++) {
        let s = 0;
        for (let k = 0; k < rows; k++) s += m[k * cols + i] * m[k * cols + j];
        g[i * n + j] = g[j * n + i] = s;
      }
  }
  const { values, vectors } = symmetricEigen(g, n);
  const s = values.map(Math.sqrt);
  const other = tall ? rows : cols;
  // The other side's vectors: M^T u / s (or M v / s); zero where s is (numerically) zero.
  const w = new Float64Array(other * n);
  for (let j = 0; j < n; j++) {
    if (s[j] <= s[0] * 1e-12) continue;
    for (let k = 0; k < other; k++) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += (tall ? m[k * cols + i] : m[i * cols + k]) * vectors[i * n + j];
      w[k * n + j] = acc / s[j];
    }
  }
  return tall ? { rows, cols, s, u: w, v: vectors } : { rows, cols, s, u: vectors, v: w };
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

/** Rank-k factors of the decomposed matrix: a = U_k S_k (rows x k), b = V_k^T (k x cols), so M ~ a b. */
export function lowRankFactors(d: Svd, k: number): { a: Float32Array; b: Float32Array } {
  const r = d.s.length;
  const a = new Float32Array(d.rows * k);
  const b = new Float32Array(k * d.cols);
  for (let i = 0; i < d.rows; i++) for (let j = 0; j < k; j++) a[i * k + j] = d.u[i * r + j] * d.s[j];
  for (let j = 0; j < k; j++) for (let c = 0; c < d.cols; c++) b[j * d.cols + c] = d.v[c * r + j];
  return { a, b };
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
