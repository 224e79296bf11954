/**
 * SSD: the chunked state-space-duality scan of Mamba2 (Dao & Gu 2024, "Transformers are SSMs",
 * Listing 1 / ssd_minimal), for one group of B and C shared by every head (ngroups = 1).
 *
 * It computes, for every head h, the selective-scan recurrence
 *     state_t = exp(dt_t * A_h) * state_{t-1} + dt_t * x_t ⊗ B_t        state: [P, N]
 *     y_t     = state_t · C_t
 * in four block steps over chunks of length Lc:
 *   1. intra-chunk (diagonal blocks): a causal, decay-masked quadratic form (L ∘ C Bᵀ) X
 *   2. the state each chunk leaves behind, from its own inputs
 *   3. inter-chunk state passing: a recurrence over chunks, written as one masked product
 *   4. the contribution of the entering state to every output of the chunk
 * The D skip is added by the caller (mamba2.ts), as in the reference.
 *
 * Written for tfjs-wasm: no einsum, cumsum only on the last (non-negative) axis, no rank-5 slices
 * (a generic loop on wasm, measured 1 s each). Batched matmuls are kept to the unavoidable per-head
 * product of step 1 and small per-chunk ones; wasm runs every batched matmul in one generic loop
 * with or without transpose flags (measured 43 vs 49 ms for [512,65,65]·[512,65,16]), so the
 * transposed layout below costs nothing there while saving a full-size transpose.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Causal masks for a T x T chunk, cached per T (kept outside any tidy). */
const maskCache = new Map<number, { strictUpper: tf.Tensor2D; upper: tf.Tensor2D }>();

function masks(T: number) {
  let m = maskCache.get(T);
  if (!m) {
    const strict = new Float32Array(T * T);
    const incl = new Float32Array(T * T);
    for (let r = 0; r < T; r++) {
      for (let c = 0; c < T; c++) {
        strict[r * T + c] = c > r ? 1 : 0;
        incl[r * T + c] = c >= r ? 1 : 0;
      }
    }
    m = tf.tidy(() => ({
      strictUpper: tf.keep(tf.tensor2d(strict, [T, T])),
      upper: tf.keep(tf.tensor2d(incl, [T, T])),
    }));
    maskCache.set(T, m);
  }
  return m;
}

/**
 * Stable segment sum, transposed. x: [..., T] -> [..., T, T] with
 *   out[..., j, i] = x[j+1] + ... + x[i]  for i > j,  and 0 for i <= j.
 * The sums are formed directly (a cumsum of masked copies, not differences of one cumsum), so
 * exp() of them stays accurate however long the chunk; the cumsum runs on the last axis only.
 * The [j, i] layout saves a full-size transpose: callers use it as the transposed decay matrix.
 * Entries with i < j are 0 rather than -inf, so callers multiply exp() by a causal mask.
 */
export function segsumT(x: tf.Tensor): tf.Tensor {
  const T = x.shape[x.rank - 1]!;
  const xr = tf.mul(tf.expandDims(x, x.rank - 1), masks(T).strictUpper); // [..., j, i] = x[i]·[i>j]
  return tf.cumsum(xr, x.rank); // [..., j, i] = sum_{k=j+1..i} x[k]
}

/** Causal 0/1 mask in [j, i] layout (1 where i >= j). */
export function causalMaskT(T: number): tf.Tensor2D {
  return masks(T).upper;
}

/**
 * Chunked SSD.
 * @param x  [B, L, H, P] inputs per head (not yet multiplied by dt)
 * @param dt [B, L, H]    positive step sizes (after softplus)
 * @param A  [H]          negative decay rates
 * @param Bm [B, L, N]    input projection, shared by all heads
 * @param Cm [B, L, N]    output projection, shared by all heads
 * @param chunkSize any positive length; sequences are zero-padded to a multiple of it
 * @returns y [B, L, H, P]
 */
export function ssdChunked(
  x: tf.Tensor4D,
  dt: tf.Tensor3D,
  A: tf.Tensor1D,
  Bm: tf.Tensor3D,
  Cm: tf.Tensor3D,
  chunkSize: number,
): tf.Tensor4D {
  const [Bsz, L, H, P] = x.shape;
  const N = Bm.shape[2];
  const Lc = Math.min(chunkSize, L); // one chunk of exactly L when the chunk is longer
  const c = Math.ceil(L / Lc);
  const Lp = c * Lc;
  const padT = <T extends tf.Tensor>(t: T): T =>
    Lp === L
      ? t
      : (tf.pad(t, [
          [0, 0],
          [0, Lp - L],
          ...t.shape.slice(2).map((): [number, number] => [0, 0]),
        ]) as T);
  // Padding with dt = 0 leaves the state untouched (decay exp(0) = 1, no input), so the
  // padded tail never changes a real output: the scan is causal.
  const xdt = tf.mul(padT(x), tf.expandDims(padT(dt), 3)); // [B, Lp, H, P]
  const dA = tf.mul(padT(dt), A); // [B, Lp, H]
  const Bc = tf.reshape(padT(Bm), [Bsz * c, Lc, N]); // [B*c, Lc, N]
  const Cc = tf.reshape(padT(Cm), [Bsz * c, Lc, N]); // [B*c, Lc, N]
  const dAc = tf.transpose(tf.reshape(dA, [Bsz, c, Lc, H]), [0, 1, 3, 2]); // [B, c, H, Lc]
  const Acs = tf.cumsum(dAc, 3); // [B, c, H, Lc]

  // 1. Intra-chunk: Y_diag[l] = sum_{s<=l} exp(Acs[l] - Acs[s]) (C_l · B_s) X_s, per head.
  //    Built transposed ([s, l]) so the only full-size tensors are the segsum, its exp and M.
  const BCt = tf.mul(tf.matMul(Bc, tf.transpose(Cc, [0, 2, 1])), causalMaskT(Lc)); // [B*c, Lc(s), Lc(l)]
  const Mt = tf.mul(
    tf.exp(segsumT(dAc)), // [B, c, H, Lc(s), Lc(l)]
    tf.reshape(BCt, [Bsz, c, 1, Lc, Lc]),
  ); // [B, c, H, Lc(s), Lc(l)]
  const Xh = tf.reshape(tf.transpose(tf.reshape(xdt, [Bsz, c, Lc, H, P]), [0, 1, 3, 2, 4]), [
    Bsz * c * H,
    Lc,
    P,
  ]); // [B*c*H, Lc, P]
  const Yd = tf.matMul(tf.reshape(Mt, [Bsz * c * H, Lc, Lc]), Xh, true, false); // [B*c*H, Lc, P]
  let Y = tf.transpose(tf.reshape(Yd, [Bsz, c, H, Lc, P]), [0, 1, 3, 2, 4]); // [B, c, Lc, H, P]

  if (c > 1) {
    // 2. State left by each chunk: S_k = sum_l exp(Acs[end] - Acs[l]) X_l ⊗ B_l.
    const last = tf.slice(Acs, [0, 0, 0, Lc - 1], [Bsz, c, H, 1]); // [B, c, H, 1]
    const toEnd = tf.transpose(tf.exp(tf.sub(last, Acs)), [0, 1, 3, 2]); // [B, c, Lc, H]
    const Xd = tf.mul(tf.reshape(xdt, [Bsz, c, Lc, H, P]), tf.expandDims(toEnd, 4)); // [B, c, Lc, H, P]
    const XdT = tf.transpose(tf.reshape(Xd, [Bsz * c, Lc, H * P]), [0, 2, 1]); // [B*c, H*P, Lc]
    const S = tf.matMul(XdT, Bc); // [B*c, H*P, N]

    // 3. State entering chunk z: sum_{k<z} exp(T_{k+1} + ... + T_{z-1}) S_k, where T_k is the
    //    total log-decay of chunk k: one masked product, its mask a segsum over [0, T_0..T_{c-1}].
    const Sh = tf.transpose(tf.reshape(S, [Bsz, c, H, P * N]), [0, 2, 1, 3]); // [B, H, c, P*N]
    const Sh0 = tf.reshape(
      tf.pad(Sh, [
        [0, 0],
        [0, 0],
        [1, 0],
        [0, 0],
      ]),
      [Bsz * H, c + 1, P * N],
    ); // [B*H, c+1, P*N], zero initial state first
    const totals = tf.transpose(tf.reshape(last, [Bsz, c, H]), [0, 2, 1]); // [B, H, c]
    const chunkA = tf.pad(totals, [
      [0, 0],
      [0, 0],
      [1, 0],
    ]); // [B, H, c+1]
    const passT = tf.mul(tf.exp(segsumT(chunkA)), causalMaskT(c + 1)); // [B, H, c+1(k), c+1(z)]
    const entering = tf.matMul(tf.reshape(passT, [Bsz * H, c + 1, c + 1]), Sh0, true, false); // [B*H, c+1, P*N]; row z = state after chunk z-1
    const Sin = tf.slice(entering, [0, 0, 0], [Bsz * H, c, P * N]); // [B*H, c, P*N]

    // 4. Entering state to outputs: Y_off[l] = exp(Acs[l]) C_l · S_in.
    const SinT = tf.reshape(tf.transpose(tf.reshape(Sin, [Bsz, H, c, P, N]), [0, 2, 4, 1, 3]), [
      Bsz * c,
      N,
      H * P,
    ]); // [B*c, N, H*P]
    const Yo = tf.reshape(tf.matMul(Cc, SinT), [Bsz, c, Lc, H, P]); // [B, c, Lc, H, P]
    const fromStart = tf.expandDims(tf.transpose(tf.exp(Acs), [0, 1, 3, 2]), 4); // [B, c, Lc, H, 1]
    Y = tf.add(Y, tf.mul(Yo, fromStart));
  }
  const y = tf.reshape(Y, [Bsz, Lp, H, P]); // [B, Lp, H, P]
  return (Lp === L ? y : tf.slice(y, [0, 0, 0, 0], [Bsz, L, H, P])) as tf.Tensor4D;
}

/**
 * The recurrence the scan must equal, one step at a time, in float64 plain arrays.
 * Used as the test oracle; independent of tfjs. Same argument layout as ssdChunked, flattened
 * row-major. Returns y [B, L, H, P] (no D skip).
 */
export function ssdRecurrence(
  x: Float64Array | Float32Array,
  dt: Float64Array | Float32Array,
  A: Float64Array | Float32Array,
  Bm: Float64Array | Float32Array,
  Cm: Float64Array | Float32Array,
  shape: { B: number; L: number; H: number; P: number; N: number },
): Float64Array {
  const { B, L, H, P, N } = shape;
  const y = new Float64Array(B * L * H * P);
  const state = new Float64Array(H * P * N);
  for (let b = 0; b < B; b++) {
    state.fill(0);
    for (let t = 0; t < L; t++) {
      const bt = b * L + t;
      for (let h = 0; h < H; h++) {
        const d = dt[bt * H + h]!;
        const decay = Math.exp(d * A[h]!);
        for (let p = 0; p < P; p++) {
          const xv = x[(bt * H + h) * P + p]!;
          let acc = 0;
          for (let n = 0; n < N; n++) {
            const si = (h * P + p) * N + n;
            const s = state[si]! * decay + d * xv * Bm[bt * N + n]!;
            state[si] = s;
            acc += s * Cm[bt * N + n]!;
          }
          y[(bt * H + h) * P + p] = acc;
        }
      }
    }
  }
  return y;
}
