/**
 * Per-query retrieval scores (hit@1, hit@10, AP@10, precision@10) from ranked lists, and their
 * means with 95% cluster-bootstrap intervals (bootstrap.ts): queries that share an answer (the
 * transforms of one photo) are resampled together.
 */
import { clusterBootstrap } from './bootstrap.js';
import { apAt10PerQuery } from './retrieval.js';

export interface PerQuery {
  /** 1 when the first result is relevant, else 0; NaN for a query with no relevant item. */
  readonly hit1: Float64Array;
  /** 1 when any of the first ten is relevant. */
  readonly hit10: Float64Array;
  readonly ap10: Float64Array;
  /** Relevant results among the first ten, over ten. */
  readonly p10: Float64Array;
}

export function perQueryMetrics(
  ranks: number[][],
  isRelevant: (q: number, j: number) => boolean,
  relevantCount: (q: number) => number,
): PerQuery {
  const ap10 = apAt10PerQuery(ranks, isRelevant, relevantCount);
  const n = ranks.length;
  const hit1 = new Float64Array(n);
  const hit10 = new Float64Array(n);
  const p10 = new Float64Array(n);
  ranks.forEach((top, q) => {
    if (Number.isNaN(ap10[q]!)) {
      hit1[q] = hit10[q] = p10[q] = NaN;
      return;
    }
    const rel = top.slice(0, 10).filter((j) => isRelevant(q, j)).length;
    hit1[q] = top.length > 0 && isRelevant(q, top[0]!) ? 1 : 0;
    hit10[q] = rel > 0 ? 1 : 0;
    p10[q] = rel / 10;
  });
  return { hit1, hit10, ap10, p10 };
}

/** A mean with its 95% bootstrap interval, all as fractions. */
export interface Estimate {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
}

export function estimate(values: Float64Array, cluster: Int32Array, seed = 1): Estimate {
  const b = clusterBootstrap(values, cluster, { seed });
  return { mean: b.mean, lo: b.lo, hi: b.hi };
}

export const METRICS = ['recallAt1', 'recallAt10', 'mapAt10', 'precisionAt10'] as const;
export type MetricName = (typeof METRICS)[number];

const FIELD: Record<MetricName, keyof PerQuery> = {
  recallAt1: 'hit1',
  recallAt10: 'hit10',
  mapAt10: 'ap10',
  precisionAt10: 'p10',
};

/** The rows `idx` of every array. */
export function pickQueries(pq: PerQuery, idx: readonly number[]): PerQuery {
  const f = (a: Float64Array) => Float64Array.from(idx, (i) => a[i]!);
  return { hit1: f(pq.hit1), hit10: f(pq.hit10), ap10: f(pq.ap10), p10: f(pq.p10) };
}

/** Means and intervals of the chosen metrics. */
export function summarise(
  pq: PerQuery,
  cluster: Int32Array,
  metrics: readonly MetricName[],
): Partial<Record<MetricName, Estimate>> {
  return Object.fromEntries(metrics.map((m) => [m, estimate(pq[FIELD[m]], cluster)]));
}

/** Paired change (narrow minus full) of a metric, query by query, with its interval. */
export function pairedChange(
  narrow: PerQuery,
  full: PerQuery,
  cluster: Int32Array,
  metric: MetricName,
): Estimate {
  const a = narrow[FIELD[metric]];
  const b = full[FIELD[metric]];
  return estimate(
    a.map((x, q) => x - b[q]!),
    cluster,
  );
}
