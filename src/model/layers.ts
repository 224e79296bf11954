/**
 * Small differentiable building blocks shared by the model files.
 *
 * Everything is written as 2-D matmuls without transpose flags, because that is the only matmul
 * the tfjs wasm backend sends to XNNPACK; transposed or batched products fall back to a ~1 GFLOP/s
 * loop, and tfjs's own matMul gradient uses transpose flags (measured 4.3x slower training step).
 */
import * as tf from '@tensorflow/tfjs-core';

/** y = x W^T with W in PyTorch layout [out, in]. x: [M, in] -> [M, out]. */
const linearNoBias = tf.customGrad((x, w, save) => {
  const x2 = x as tf.Tensor2D;
  const w2 = w as tf.Tensor2D;
  (save as tf.GradSaveFunc)([x2, w2]);
  return {
    value: tf.matMul(x2, tf.transpose(w2)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, ws), tf.matMul(tf.transpose(dy2), xs)]; // dX [M,in], dW [out,in]
    },
  };
});

/** Each row scaled to unit L2 length [B, D] (a zero row stays zero). */
export function unitRows(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.norm(x, 2, 1, true), 1e-12));
}

/** Linear layer on the last axis, PyTorch weight layout [out, in]. x: [..., in] -> [..., out]. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1]!;
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, inDim]); // [M, in]
  let y = linearNoBias(x2, w) as tf.Tensor2D; // [M, out]
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...lead, w.shape[0]]);
}

/** LayerNorm over the last axis (PyTorch nn.LayerNorm with affine weight and bias). */
export function layerNorm(x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), axis, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), w), b);
}

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * Gated RMSNorm with the gate applied before the norm (Mamba2's norm_before_gate=False):
 * rmsnorm(y * silu(z)) * w, the statistic taken over all channels of y (ngroups = 1).
 * y, z: [..., E], w: [E].
 */
export function rmsNormGated(y: tf.Tensor, z: tf.Tensor, w: tf.Tensor1D, eps: number): tf.Tensor {
  const g = tf.mul(y, silu(z));
  const ms = tf.mean(tf.square(g), g.rank - 1, true);
  return tf.mul(tf.mul(g, tf.rsqrt(tf.add(ms, eps))), w);
}

/**
 * Causal depthwise conv1d over time written as K shifted slices (wasm has no conv gradients).
 * x: [B, L, C]; weight: [C, 1, K] (PyTorch Conv1d layout); bias: [C]. Output [B, L, C] where
 * out[t] = bias + sum_k weight[:, 0, k] * x[t - (K - 1) + k], zeros before the start.
 */
export function causalDepthwiseConv(x: tf.Tensor3D, weight: tf.Tensor3D, bias: tf.Tensor1D) {
  const [B, L, C] = x.shape;
  const K = weight.shape[2];
  const xp = tf.pad(x, [
    [0, 0],
    [K - 1, 0],
    [0, 0],
  ]); // [B, L+K-1, C]
  const wk = tf.transpose(tf.reshape(weight, [C, K])); // [K, C]
  let out: tf.Tensor = tf.reshape(bias, [1, 1, C]);
  for (let k = 0; k < K; k++) {
    const tap = tf.reshape(tf.slice(wk, [k, 0], [1, C]), [1, 1, C]);
    out = tf.add(out, tf.mul(tf.slice(xp, [0, k, 0], [B, L, C]), tap));
  }
  return out as tf.Tensor3D;
}
