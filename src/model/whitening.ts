/**
 * Learned whitening of embeddings (Radenović, Tolias & Chum, "Fine-tuning CNN image retrieval
 * with no human annotation", TPAMI 2018, §3.3): a linear map learnt in closed form from matching
 * pairs, applied after the encoder.
 *
 *   μ    mean of the database vectors X                        [D]
 *   C_S  Σ_k w_k · mean_i (a_i − b_i)(a_i − b_i)ᵀ / Σ_k w_k      [D, D]  positives' differences
 *   C_D  covariance of X                                        [D, D]  everything else
 *   P    = Eᵀ (C_S + εI)^{-1/2}, E the eigenvectors of (C_S + εI)^{-1/2} C_D (C_S + εI)^{-1/2}
 *   y    = P (x − μ) = W x + b,   W = P,  b = −P μ
 *
 * so P C_S Pᵀ ≈ I (what separates matching pairs is flattened) and P C_D Pᵀ is diagonal, largest
 * first (what separates images is kept). ε, a fraction of C_S's mean eigenvalue, keeps directions
 * where neither matrix has variance (a LayerNorm output has one) from being blown up.
 */
import { spectralMap, symmetricEigen } from '../util/eigen.js';

/** One family of matching pairs: row i of `a` matches row i of `b`, both [n, D]. */
export interface PairFamily {
  readonly a: Float32Array;
  readonly b: Float32Array;
  /** Share of C_S (families are weighted by this, not by their pair counts). */
  readonly weight: number;
}

/** y = weight · x + bias: `weight` [D, D] row-major (out × in), `bias` [D]. */
export interface Whitening {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

export interface WhiteningOptions {
  /** Ridge on C_S as a fraction of its mean eigenvalue (default 0.01). */
  readonly epsilon?: number;
}

/** Mean of the rows of X [n, D]. */
function rowMean(X: Float32Array, dim: number): Float64Array {
  const n = X.length / dim;
  const mu = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mu[d]! += X[i * dim + d]!;
  for (let d = 0; d < dim; d++) mu[d]! /= n;
  return mu;
}

/** Σ_i r_i r_iᵀ / n over rows r_i = row(i) [D] (upper triangle, then mirrored). */
function outerMean(n: number, dim: number, row: (i: number, r: Float64Array) => void) {
  const C = new Float64Array(dim * dim);
  const r = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    row(i, r);
    for (let a = 0; a < dim; a++) {
      const ra = r[a]!;
      if (ra === 0) continue;
      for (let b = a; b < dim; b++) C[a * dim + b]! += ra * r[b]!;
    }
  }
  for (let a = 0; a < dim; a++) for (let b = a; b < dim; b++) C[b * dim + a] = C[a * dim + b]! /= n;
  return C;
}

/** The covariance of matching pairs' differences, families weighted by `weight`. */
export function pairCovariance(families: readonly PairFamily[], dim: number): Float64Array {
  const CS = new Float64Array(dim * dim);
  let total = 0;
  for (const f of families) {
    const n = f.a.length / dim;
    if (f.b.length !== f.a.length || !Number.isInteger(n) || n === 0)
      throw new RangeError(`pair family: a has ${f.a.length} values, b ${f.b.length}, dim ${dim}`);
    const C = outerMean(n, dim, (i, r) => {
      for (let d = 0; d < dim; d++) r[d] = f.a[i * dim + d]! - f.b[i * dim + d]!;
    });
    for (let k = 0; k < C.length; k++) CS[k]! += f.weight * C[k]!;
    total += f.weight;
  }
  if (!(total > 0)) throw new RangeError('learned whitening needs pairs with a positive weight');
  for (let k = 0; k < CS.length; k++) CS[k]! /= total;
  return CS;
}

/** (C + εI)^{-1/2} for a symmetric positive semi-definite C, ε = epsilon · mean eigenvalue. */
function inverseSqrt(C: Float64Array, dim: number, epsilon: number): Float64Array {
  // Eigenvalues below 0 are rounding; the ridge keeps directions without variance finite.
  return spectralMap(C, dim, (v, mean) => {
    const ridge = Math.max(epsilon * Math.max(mean, 0), Number.MIN_VALUE);
    return (Math.max(v, 0) + ridge) ** -0.5;
  });
}

function matmul(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const a = A[i * n + k]!;
      if (a === 0) continue;
      for (let j = 0; j < n; j++) C[i * n + j]! += a * B[k * n + j]!;
    }
  return C;
}

/**
 * Learns the whitening from database vectors X [n, D] and matching pairs. Computed in float64;
 * returned in float32 as the model stores it.
 */
export function learnWhitening(
  X: Float32Array,
  families: readonly PairFamily[],
  dim: number,
  o: WhiteningOptions = {},
): Whitening {
  const n = X.length / dim;
  if (!Number.isInteger(n) || n < 2)
    throw new RangeError(`learned whitening needs at least 2 database vectors of ${dim}`);
  const mu = rowMean(X, dim);
  const CD = outerMean(n, dim, (i, r) => {
    for (let d = 0; d < dim; d++) r[d] = X[i * dim + d]! - mu[d]!;
  });
  const S = inverseSqrt(pairCovariance(families, dim), dim, o.epsilon ?? 0.01); // symmetric
  const { vectors: E } = symmetricEigen(matmul(matmul(S, CD, dim), S, dim), dim);
  const P = matmul(E, S, dim); // rows of E are eigenvectors: P = Eᵀ-as-rows · S
  const weight = Float32Array.from(P);
  const bias = new Float32Array(dim);
  for (let o2 = 0; o2 < dim; o2++) {
    let acc = 0;
    for (let k = 0; k < dim; k++) acc += P[o2 * dim + k]! * mu[k]!;
    bias[o2] = -acc;
  }
  return { weight, bias };
}

/** y = W x + b for one vector x [D] (float64 accumulation). */
export function applyWhitening(w: Whitening, x: ArrayLike<number>, dim: number): Float32Array {
  const y = new Float32Array(dim);
  for (let o = 0; o < dim; o++) {
    let acc = w.bias[o]!;
    for (let k = 0; k < dim; k++) acc += w.weight[o * dim + k]! * x[k]!;
    y[o] = acc;
  }
  return y;
}

/**
 * A width adapter: the [D, D] map A (out × in) closest, in least squares with a ridge towards the
 * identity, to taking each narrow-width vector x_i to the full-width vector y_i of the same image:
 *   A = argmin Σ_i ‖A x_i − y_i‖² + ridge · ‖A − I‖²_F = (Σ y xᵀ + ridge I)(Σ x xᵀ + ridge I)⁻¹
 * Rows of `from` and `to` are [n, D]; the adapter is applied to unit vectors, as it was fitted.
 */
export function fitAdapter(
  from: Float32Array,
  to: Float32Array,
  dim: number,
  ridge = 1,
): Float32Array {
  const n = from.length / dim;
  if (to.length !== from.length || !Number.isInteger(n) || n === 0)
    throw new RangeError(`adapter: ${from.length} and ${to.length} values for dim ${dim}`);
  const XX = new Float64Array(dim * dim);
  const YX = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < dim; a++) {
      const xa = from[i * dim + a]!;
      const ya = to[i * dim + a]!;
      for (let b = 0; b < dim; b++) {
        const xb = from[i * dim + b]!;
        XX[a * dim + b]! += xa * xb;
        YX[a * dim + b]! += ya * xb;
      }
    }
  for (let a = 0; a < dim; a++) {
    XX[a * dim + a]! += ridge;
    YX[a * dim + a]! += ridge;
  }
  const inv = spectralMap(XX, dim, (v) => 1 / v); // positive definite with the ridge
  return Float32Array.from(matmul(YX, inv, dim));
}
