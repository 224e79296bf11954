/**
 * Exact (brute-force) retrieval metrics over L2-normalised features, used by training checks and
 * `matsearch eval`: recall@k, mAP@k and cross-group recall (query one vendor, search the others).
 */

/** Rows of x [n, d] scaled to unit length (copy). */
export function normalizeRows(x: Float32Array, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length / d; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k]! ** 2;
    const inv = 1 / Math.sqrt(s || 1);
    for (let k = 0; k < d; k++) out[i * d + k] = x[i * d + k]! * inv;
  }
  return out;
}

/** Indices of the k largest scores, best first (ties by lower index). */
export function topK(scores: Float32Array, k: number, exclude?: (j: number) => boolean): number[] {
  const best: number[] = [];
  for (let j = 0; j < scores.length; j++) {
    if (exclude?.(j)) continue;
    const s = scores[j]!;
    if (best.length === k && s <= scores[best[k - 1]!]!) continue;
    let pos = best.length === k ? k - 1 : best.length;
    while (pos > 0 && scores[best[pos - 1]!]! < s) pos--;
    best.splice(pos, 0, j);
    if (best.length > k) best.pop();
  }
  return best;
}

/** Cosine scores of query row q (in Q) against every row of D. */
export function scoresOf(Q: Float32Array, q: number, D: Float32Array, d: number): Float32Array {
  const n = D.length / d;
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += Q[q * d + k]! * D[j * d + k]!;
    out[j] = s;
  }
  return out;
}

export interface RetrievalMetrics {
  readonly queries: number;
  readonly recallAt1: number;
  readonly recallAt10: number;
  /** Mean over queries of AP@10 (precision at each relevant rank, over min(10, #relevant)). */
  readonly mapAt10: number;
}

/**
 * Query rows of Q against database rows of D (both [*, d], any scale). A database item is
 * relevant when its label equals the query's; `skip(q, j)` removes items (the query itself,
 * same-vendor items). Queries with no relevant item left are not counted.
 */
export function retrievalMetrics(
  Q: Float32Array,
  qLabels: Int32Array,
  D: Float32Array,
  dLabels: Int32Array,
  d: number,
  skip: (q: number, j: number) => boolean = () => false,
): RetrievalMetrics {
  const Qn = normalizeRows(Q, d);
  const Dn = normalizeRows(D, d);
  const ranks = Array.from(qLabels, (_, q) => topK(scoresOf(Qn, q, Dn, d), 10, (j) => skip(q, j)));
  const relevant = (q: number) => {
    let c = 0;
    for (let j = 0; j < dLabels.length; j++) if (!skip(q, j) && dLabels[j] === qLabels[q]) c++;
    return c;
  };
  return metricsFromRanks(ranks, (q, j) => dLabels[j] === qLabels[q], relevant);
}

/** AP@10 of each query from its ranked list; NaN for a query with no relevant item. */
export function apAt10PerQuery(
  ranks: number[][],
  isRelevant: (q: number, j: number) => boolean,
  relevantCount: (q: number) => number,
): Float64Array {
  return Float64Array.from(ranks, (top, q) => {
    const rel = relevantCount(q);
    if (rel === 0) return NaN;
    let found = 0;
    let sum = 0;
    top.slice(0, 10).forEach((j, rank) => {
      if (isRelevant(q, j)) sum += ++found / (rank + 1);
    });
    return sum / Math.min(10, rel);
  });
}

/**
 * recall@1, recall@10 and mAP@10 from ranked lists; `relevantCount(q)` = relevant items in the
 * database. `ap`: the lists' AP@10 per query when the caller has it already.
 */
export function metricsFromRanks(
  ranks: number[][],
  isRelevant: (q: number, j: number) => boolean,
  relevantCount: (q: number) => number,
  ap: Float64Array = apAt10PerQuery(ranks, isRelevant, relevantCount),
): RetrievalMetrics {
  let n = 0;
  let r1 = 0;
  let r10 = 0;
  let apSum = 0;
  ranks.forEach((top, q) => {
    if (Number.isNaN(ap[q]!)) return;
    n++;
    const hits = top.slice(0, 10).map((j) => isRelevant(q, j));
    if (hits[0]) r1++;
    if (hits.some(Boolean)) r10++;
    apSum += ap[q]!;
  });
  return { queries: n, recallAt1: r1 / n, recallAt10: r10 / n, mapAt10: apSum / n };
}

/** recall@1 where each image queries all images of *other* groups (vendors). */
export function crossGroupRecallAt1(
  F: Float32Array,
  d: number,
  labels: Int32Array,
  groups: Int32Array,
): number {
  return retrievalMetrics(F, labels, F, labels, d, (q, j) => groups[j] === groups[q]).recallAt1;
}

export interface QueryWidthLoss {
  queryWidth: string;
  dbWidth: string;
  /** Mean over queries of AP@10 at this query width minus AP@10 at full width (fraction). */
  mapAt10Change: number;
  /** 95% paired cluster-bootstrap interval of that mean. */
  ci95: [number, number];
  /** Independent units resampled (emoji, or queries). */
  clusters: number;
}

/** "-2.28 [-2.90, -1.66]": a change in mAP@10 points with its interval. */
export function formatChange(l: QueryWidthLoss): string {
  const pts = (x: number) => (100 * x).toFixed(2);
  return `${pts(l.mapAt10Change)} [${pts(l.ci95[0])}, ${pts(l.ci95[1])}]`;
}
