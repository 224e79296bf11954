/**
 * Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan,
 * Matrix Computations, §8.5). O(n³) per sweep and a handful of sweeps: fine for the 128-512
 * wide covariances of embedding whitening, in float64, with no dependency.
 */

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  readonly values: Float64Array;
  /** [n, n] row-major: row k is the unit eigenvector of values[k]. */
  readonly vectors: Float64Array;
}

/** Eigenvalues and eigenvectors of the symmetric [n, n] row-major `a` (only read). */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new RangeError(`symmetricEigen: ${a.length} values for ${n}x${n}`);
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n); // columns: eigenvectors
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let scale = 0;
  for (const x of A) scale += x * x;
  const tol = 1e-30 * Math.max(scale, Number.MIN_VALUE);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q]! ** 2;
    if (off <= tol) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (apq === 0) continue;
        // The rotation that zeroes A[p][q]: t = tan θ, the smaller root for stability.
        const theta = (A[q * n + q]! - A[p * n + p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => A[j * n + j]! - A[i * n + i]!,
  );
  const values = Float64Array.from(order, (i) => A[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((i, k) => {
    for (let r = 0; r < n; r++) vectors[k * n + r] = V[r * n + i]!;
  });
  return { values, vectors };
}

/**
 * f(A) = V f(Λ) Vᵀ for the symmetric [n, n] `a` (e.g. f = λ^-½ for an inverse square root, 1/λ
 * for an inverse): `f` gets each eigenvalue and the spectrum's mean.
 */
export function spectralMap(
  a: Float64Array,
  n: number,
  f: (value: number, mean: number) => number,
): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = f(values[k]!, mean);
    for (let i = 0; i < n; i++) {
      const vi = s * vectors[k * n + i]!;
      for (let j = 0; j < n; j++) out[i * n + j]! += vi * vectors[k * n + j]!;
    }
  }
  return out;
}
