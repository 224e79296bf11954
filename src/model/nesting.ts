/**
 * The Matryoshka nesting rule of MatMamba (Shukla et al. 2024), and the only file that knows it.
 *
 * A block at width w (an active model dim w <= D, i.e. a fraction w/D of the model) uses
 *   - the first e = expand·w channels of z and x (rows of in_proj, channels of the conv),
 *   - the first h = e / headDim heads of dt, dt_bias, A_log and D,
 *   - the first e entries of the gated-norm weight (so its RMS runs over those e channels),
 *   - the first e input columns of out_proj,
 *   - and all of B, C (d_state) and d_model, which are never sliced.
 * Every width therefore writes a d_model-wide residual stream and shares one embedding space.
 * Mix'n'Match picks a width per layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MatMambaVisionConfig } from './config.js';
import type { MixerWeights } from './mamba2.js';
import { activeSizes } from './widths.js';

export * from './widths.js';

/** The sub-block weights at active dim `dim`. Full width returns the tensors as they are. */
export function sliceMixer(
  full: MixerWeights,
  cfg: MatMambaVisionConfig,
  dim: number,
): MixerWeights {
  if (dim === cfg.dModel) return full;
  const E = cfg.expand * cfg.dModel;
  const N = cfg.dState;
  const { e, h } = activeSizes(cfg, dim);
  const rows = (t: tf.Tensor2D, start: number, n: number) =>
    tf.slice(t, [start, 0], [n, t.shape[1]]);
  const D = full.inProj.shape[1];
  const K = full.convWeight.shape[2];
  return {
    // in_proj rows [z | x | B, C | dt] -> [z[:e] | x[:e] | B, C | dt[:h]]
    inProj: tf.concat([
      rows(full.inProj, 0, e),
      rows(full.inProj, E, e),
      rows(full.inProj, 2 * E, 2 * N),
      rows(full.inProj, 2 * E + 2 * N, h),
    ]) as tf.Tensor2D,
    // conv channels [x | B, C] -> [x[:e] | B, C]
    convWeight: tf.concat([
      tf.slice(full.convWeight, [0, 0, 0], [e, 1, K]),
      tf.slice(full.convWeight, [E, 0, 0], [2 * N, 1, K]),
    ]) as tf.Tensor3D,
    convBias: tf.concat([tf.slice(full.convBias, 0, e), tf.slice(full.convBias, E, 2 * N)]),
    dtBias: tf.slice(full.dtBias, 0, h),
    ALog: tf.slice(full.ALog, 0, h),
    D: tf.slice(full.D, 0, h),
    normWeight: tf.slice(full.normWeight, 0, e),
    outProj: tf.slice(full.outProj, [0, 0], [D, e]),
  };
}
