/**
 * Exact top-k ranking of many queries against a database with tfjs matmuls (2-D, the fast wasm
 * path) in blocks; retrieval.ts turns the ranks into metrics. Used by `matsearch eval` where plain JS loops would
 * take minutes per (query width x database width) pair.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalizeRows, topK } from './retrieval.js';

/**
 * For each query row of Q ([nq, d]), the indices of its k most cosine-similar rows of D, skipping
 * pairs for which `skip(q, j)` is true (the query itself, same-vendor images).
 */
export function rankTopK(
  Q: Float32Array,
  D: Float32Array,
  d: number,
  k: number,
  skip: (q: number, j: number) => boolean = () => false,
  block = 256,
): number[][] {
  const nq = Q.length / d;
  const nd = D.length / d;
  const Dt = tf.tidy(() => tf.transpose(tf.tensor2d(normalizeRows(D, d), [nd, d]))); // [d, nd]
  const Qn = normalizeRows(Q, d);
  const out: number[][] = [];
  for (let s = 0; s < nq; s += block) {
    const rows = Math.min(block, nq - s);
    const scores = tf.tidy(() =>
      tf.matMul(tf.tensor2d(Qn.subarray(s * d, (s + rows) * d), [rows, d]), Dt),
    );
    const all = scores.dataSync() as Float32Array;
    scores.dispose();
    for (let r = 0; r < rows; r++) {
      const q = s + r;
      out.push(topK(all.subarray(r * nd, (r + 1) * nd), k, (j) => skip(q, j)));
    }
  }
  Dt.dispose();
  return out;
}
