/** Training losses, written with 2-D matmuls and explicit transposes (fast on tfjs-wasm). */
import * as tf from '@tensorflow/tfjs-core';

/** Mean cross-entropy with label smoothing ε: targets (1-ε)·onehot + ε/K. logits [B, K]. */
export function crossEntropy(
  logits: tf.Tensor2D,
  labels: Int32Array,
  smoothing: number,
): tf.Scalar {
  const K = logits.shape[1];
  const target = tf.add(
    tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), K), 1 - smoothing),
    smoothing / K,
  );
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(target, logp), 1))) as tf.Scalar;
}

/** Rows scaled to unit L2 norm. x [B, D]. */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12))) as tf.Tensor2D;
}

/** The [B, B] same-label mask (with or without the diagonal) and each row's count. */
function positives(labels: Int32Array, self: boolean): { pos: Float32Array; counts: Float32Array } {
  const B = labels.length;
  const pos = new Float32Array(B * B);
  const counts = new Float32Array(B);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++)
      if ((self || i !== j) && labels[i] === labels[j]) {
        pos[i * B + j] = 1;
        counts[i]!++;
      }
  return { pos, counts };
}

/** Per anchor row of `sim` [B, C], the mean over its positives of log softmax(sim row). [B] */
function meanPositiveLogProb(sim: tf.Tensor, pos: Float32Array, counts: Float32Array): tf.Tensor {
  const logProb = tf.sub(sim, tf.logSumExp(sim, 1, true));
  return tf.div(
    tf.sum(tf.mul(logProb, tf.tensor(pos, sim.shape)), 1),
    tf.tensor1d(counts.map((c) => Math.max(c, 1))),
  );
}

/**
 * Supervised contrastive loss (Khosla et al. 2020, L_out): for each anchor with at least one
 * positive (same label, other index), the mean over its positives of
 * -log( exp(z_i·z_p/τ) / Σ_{a≠i} exp(z_i·z_a/τ) ). features [B, D] (normalised here).
 */
export function supConLoss(
  features: tf.Tensor2D,
  labels: Int32Array,
  temperature: number,
): tf.Scalar {
  const B = labels.length;
  const { pos, counts } = positives(labels, false);
  const selfMask = new Float32Array(B * B);
  for (let i = 0; i < B; i++) selfMask[i * B + i] = -1e9;
  const anchors = counts.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
  if (anchors === 0) return tf.scalar(0);
  const z = l2Normalize(features);
  const sim = tf.add(
    tf.div(tf.matMul(z, tf.transpose(z)), temperature),
    tf.tensor2d(selfMask, [B, B]),
  ); // [B, B]
  return tf.div(tf.neg(tf.sum(meanPositiveLogProb(sim, pos, counts))), anchors) as tf.Scalar;
}

/** Self-distillation: mean (1 - cos) between student features and fixed teacher features. */
export function cosineDistill(student: tf.Tensor2D, teacher: tf.Tensor2D): tf.Scalar {
  return tf.sub(
    1,
    tf.mean(tf.sum(tf.mul(l2Normalize(student), l2Normalize(teacher)), 1)),
  ) as tf.Scalar;
}

/**
 * Cross-width contrastive loss: narrow-width anchors (student [B, D]) against full-width
 * candidates (teacher [B, D], fixed), the asymmetric search a cheap query runs against a
 * full-width collection. Positives of anchor i: every candidate with its label, including its
 * own image at full width; the denominator runs over all B candidates. Mean over anchors of the
 * mean over positives of -log( exp(s_i·t_p/τ) / Σ_a exp(s_i·t_a/τ) ).
 */
export function crossWidthLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  labels: Int32Array,
  temperature: number,
): tf.Scalar {
  const { pos, counts } = positives(labels, true);
  const sim = tf.div(
    tf.matMul(l2Normalize(student), tf.transpose(l2Normalize(teacher))),
    temperature,
  ); // [B, B]: anchor rows, candidate columns
  return tf.neg(tf.mean(meanPositiveLogProb(sim, pos, counts))) as tf.Scalar;
}
