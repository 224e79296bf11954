/**
 * The Mamba2 mixer block (Dao & Gu 2024), at whatever inner width its weights have.
 *
 *   u ─ in_proj ─┬─ z ──────────────────────────────────────────┐
 *                ├─ xBC ─ causal dwconv ─ SiLU ─┬─ x ─┐         │
 *                │                              ├─ B ─┼─ SSD ─ +D·x ─ gated RMSNorm ─ out_proj
 *                │                              └─ C ─┘         │
 *                └─ dt ─ softplus(dt + dt_bias) ─────┘      (gate: silu(z))
 *
 * The block is oblivious to nesting: nesting.ts slices the full weights to a width and hands the
 * slices here, so a nested submodel runs exactly this code on smaller tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { causalDepthwiseConv, linear, rmsNormGated, silu } from './layers.js';
import { ssdChunked } from './ssd.js';

/** One block's mixer weights, PyTorch layouts and official names in comments. */
export interface MixerWeights {
  /** in_proj.weight [2E + 2N + H, D], rows ordered [z, x, B, C, dt]; no bias. */
  readonly inProj: tf.Tensor2D;
  /** conv1d.weight [E + 2N, 1, K], channels ordered [x, B, C]. */
  readonly convWeight: tf.Tensor3D;
  /** conv1d.bias [E + 2N]. */
  readonly convBias: tf.Tensor1D;
  /** dt_bias [H]. */
  readonly dtBias: tf.Tensor1D;
  /** A_log [H]; A = -exp(A_log). */
  readonly ALog: tf.Tensor1D;
  /** D [H], the per-head skip. */
  readonly D: tf.Tensor1D;
  /** norm.weight [E] of the gated RMSNorm. */
  readonly normWeight: tf.Tensor1D;
  /** out_proj.weight [D, E]; no bias. */
  readonly outProj: tf.Tensor2D;
}

export interface MixerOptions {
  readonly dState: number; // N
  readonly headDim: number; // P
  readonly chunkSize: number;
  readonly normEps: number;
}

/** Inner sizes implied by a set of weights. */
export function mixerSizes(w: MixerWeights, o: MixerOptions) {
  const E = w.normWeight.shape[0];
  const H = w.dtBias.shape[0];
  if (E !== H * o.headDim) {
    throw new Error(`mixer weights disagree: inner width ${E} != ${H} heads x ${o.headDim}`);
  }
  return { E, H };
}

/** u: [B, L, D] -> [B, L, D]. */
export function mamba2Forward(u: tf.Tensor3D, w: MixerWeights, o: MixerOptions): tf.Tensor3D {
  const [B, L, Dm] = u.shape;
  const { E, H } = mixerSizes(w, o);
  const N = o.dState;
  const P = o.headDim;

  // in_proj rows are [z | x | B | C | dt] and conv channels [x | B | C]. Projecting and
  // convolving each part with slices of the weights (cheap) instead of splitting activations
  // (strided copies, slow on wasm) gives the same numbers: the conv is depthwise.
  const proj = (start: number, n: number) => linear(u, tf.slice(w.inProj, [start, 0], [n, Dm]));
  const conv = (t: tf.Tensor, start: number, n: number) =>
    silu(
      causalDepthwiseConv(
        t as tf.Tensor3D,
        tf.slice(w.convWeight, [start, 0, 0], [n, 1, w.convWeight.shape[2]]),
        tf.slice(w.convBias, start, n),
      ),
    );
  const z = proj(0, E); // [B, L, E]
  const x = conv(proj(E, E), 0, E); // [B, L, E]
  const Bm = conv(proj(2 * E, N), E, N); // [B, L, N]
  const Cm = conv(proj(2 * E + N, N), E + N, N); // [B, L, N]
  const dtRaw = proj(2 * E + 2 * N, H); // [B, L, H]
  const dt = tf.softplus(tf.add(dtRaw, w.dtBias)) as tf.Tensor3D; // [B, L, H]
  const A = tf.neg(tf.exp(w.ALog)) as tf.Tensor1D; // [H]

  const xh = tf.reshape(x, [B, L, H, P]) as tf.Tensor4D; // [B, L, H, P]
  let y: tf.Tensor = ssdChunked(xh, dt, A, Bm as tf.Tensor3D, Cm as tf.Tensor3D, o.chunkSize);
  y = tf.add(y, tf.mul(xh, tf.reshape(w.D, [H, 1]))); // + D·x per head
  y = rmsNormGated(tf.reshape(y, [B, L, E]), z, w.normWeight, o.normEps); // [B, L, E]
  return tf.reshape(linear(y, w.outProj), [B, L, Dm]) as tf.Tensor3D;
}
