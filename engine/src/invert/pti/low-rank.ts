/**
 * Singular value decomposition of small dense matrices (a generator layer's weight delta: at most a few
 * hundred rows or columns on the smaller side) for storing pivotal-tuning deltas in low rank.
 *
 * Method: the eigen-decomposition of the smaller Gram matrix (M M^T or M^T M), in float64. Squaring the matrix loses the smallest singular values' precision, which truncation discards
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
  // The other side's vectors: M^T u / s (or M v / s); zero where s is (numerically) zero. Loops run so the
  // innermost index is contiguous in every array.
  const w = new Float64Array(other * n);
  const inv = s.map((x) => (x > s[0] * 1e-12 ? 1 / x : 0));
  if (!tall) {
    // w[k, j] = sum_i m[i, k] u[i, j] / s[j]
    for (let i = 0; i < rows; i++)
      for (let k = 0; k < cols; k++) {
        const x = m[i * cols + k];
        if (x === 0) continue;
        const wk = k * n;
        const ui = i * n;
        for (let j = 0; j < n; j++) w[wk + j] += x * vectors[ui + j];
      }
  } else {
    // w[k, j] = sum_i m[k, i] v[i, j] / s[j]
    for (let k = 0; k < rows; k++)
      for (let i = 0; i < cols; i++) {
        const x = m[k * cols + i];
        if (x === 0) continue;
        const wk = k * n;
        const vi = i * n;
        for (let j = 0; j < n; j++) w[wk + j] += x * vectors[vi + j];
      }
  }
  for (let k = 0; k < other; k++) for (let j = 0; j < n; j++) w[k * n + j] *= inv[j];
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
