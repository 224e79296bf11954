/**
 * Scores one query set against its database under every method: means with 95% cluster-bootstrap
 * intervals, optional breakdowns (per transform), and the nesting check, i.e. the paired change in
 * recall@10 when queries are embedded at a narrower width against the full-width database.
 */
import { rankMethod, type FeatureSet, type MethodName } from './general-features.js';
import {
  pairedChange,
  perQueryMetrics,
  pickQueries,
  summarise,
  type Estimate,
  type MetricName,
  type PerQuery,
} from './query-metrics.js';

export type MethodScores = Record<MethodName, Partial<Record<MetricName, Estimate>>>;

export interface SetResult {
  readonly name: string;
  readonly protocol: string;
  readonly queries: number;
  readonly database: number;
  /** Independent units the bootstrap resamples. */
  readonly clusters: number;
  readonly methods: MethodScores;
  readonly breakdown?: { name: string; queries: number; methods: MethodScores }[];
  /** Query width vs full width, both against the full-width database. */
  readonly nesting: { width: string; metric: MetricName; change: Estimate }[];
}

export interface ScoreInput {
  readonly name: string;
  readonly protocol: string;
  readonly Q: FeatureSet;
  readonly D: FeatureSet;
  readonly methods: readonly MethodName[];
  readonly isRelevant: (q: number, j: number) => boolean;
  readonly relevantCount: (q: number) => number;
  /** Cluster of each query (queries sharing an answer share a cluster). */
  readonly cluster: Int32Array;
  readonly skip?: (q: number, j: number) => boolean;
  readonly metrics: readonly MetricName[];
  /** Query subsets reported on their own (e.g. one per transform). */
  readonly groups?: readonly { name: string; idx: readonly number[] }[];
}

export function scoreSet(s: ScoreInput): SetResult {
  const per = new Map<MethodName, PerQuery>();
  for (const m of s.methods)
    per.set(m, perQueryMetrics(rankMethod(m, s.Q, s.D, 10, s.skip), s.isRelevant, s.relevantCount));
  const scores = (pick: (pq: PerQuery) => PerQuery, cluster: Int32Array): MethodScores =>
    Object.fromEntries(s.methods.map((m) => [m, summarise(pick(per.get(m)!), cluster, s.metrics)]));
  const full = per.get('model@1');
  const nesting = full
    ? s.methods
        .filter((m) => m.startsWith('model@') && m !== 'model@1')
        .map((m) => ({
          width: m.slice('model@'.length),
          metric: 'recallAt10' as const,
          change: pairedChange(per.get(m)!, full, s.cluster, 'recallAt10'),
        }))
    : [];
  return {
    name: s.name,
    protocol: s.protocol,
    queries: s.Q.n,
    database: s.D.n,
    clusters: new Set(s.cluster).size,
    methods: scores((pq) => pq, s.cluster),
    ...(s.groups
      ? {
          breakdown: s.groups.map((g) => ({
            name: g.name,
            queries: g.idx.length,
            methods: scores(
              (pq) => pickQueries(pq, g.idx),
              Int32Array.from(g.idx, (i) => s.cluster[i]!),
            ),
          })),
        }
      : {}),
    nesting,
  };
}
