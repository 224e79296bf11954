/**
 * Exact top-k ranking of many queries against a database with tfjs matmuls (2-D, the fast wasm
 * path) in blocks, then relevance metrics. Used by `matsearch eval` where plain JS loops would
 * take minutes per (query width x database width) pair.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalizeRows, topK, type RetrievalMetrics } from './retrieval.js';

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

/** recall@1, recall@10 and mAP@10 from ranked lists; `relevantCount(q)` = relevant items in the database. */
export function metricsFromRanks(
  ranks: number[][],
  isRelevant: (q: number, j: number) => boolean,
  relevantCount: (q: number) => number,
): RetrievalMetrics {
  let n = 0;
  let r1 = 0;
  let r10 = 0;
  let ap = 0;
  ranks.forEach((top, q) => {
    const rel = relevantCount(q);
    if (rel === 0) return;
    n++;
    const hits = top.slice(0, 10).map((j) => isRelevant(q, j));
    if (hits[0]) r1++;
    if (hits.some(Boolean)) r10++;
    let found = 0;
    let sum = 0;
    hits.forEach((h, rank) => {
      if (h) sum += ++found / (rank + 1);
    });
    ap += sum / Math.min(10, rel);
  });
  return { queries: n, recallAt1: r1 / n, recallAt10: r10 / n, mapAt10: ap / n };
}
