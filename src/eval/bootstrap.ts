/**
 * Paired bootstrap confidence intervals for a difference measured on the same queries (for
 * example a narrow query width's AP@10 minus the full width's, query by query).
 *
 * Queries about the same item (the three vendors' drawings of one emoji) are not independent, so
 * the resampling unit is a cluster: whole clusters are drawn with replacement (Davison and
 * Hinkley 1997, §3.8). With every query its own cluster this is the plain percentile bootstrap.
 */
import { Rng } from '../util/rng.js';

export interface BootstrapInterval {
  /** Mean of the differences over all queries. */
  readonly mean: number;
  /** Percentile interval at `level` (e.g. 0.95). */
  readonly lo: number;
  readonly hi: number;
  readonly level: number;
  /** Clusters resampled (independent units). */
  readonly clusters: number;
}

/**
 * Mean of `diff` with a cluster-bootstrap percentile interval. `cluster[q]` names the cluster of
 * query q; NaN differences (queries that were not scored) are left out.
 */
export function clusterBootstrap(
  diff: Float64Array,
  cluster: Int32Array,
  opts: { rounds?: number; level?: number; seed?: number } = {},
): BootstrapInterval {
  const rounds = opts.rounds ?? 2000;
  const level = opts.level ?? 0.95;
  if (diff.length !== cluster.length)
    throw new Error(`clusterBootstrap: ${diff.length} differences but ${cluster.length} clusters`);
  // Per cluster: sum of differences and number of scored queries.
  const index = new Map<number, number>();
  const sums: number[] = [];
  const counts: number[] = [];
  let total = 0;
  let n = 0;
  diff.forEach((d, q) => {
    if (Number.isNaN(d)) return;
    let k = index.get(cluster[q]!);
    if (k === undefined) {
      k = sums.length;
      index.set(cluster[q]!, k);
      sums.push(0);
      counts.push(0);
    }
    sums[k]! += d;
    counts[k]!++;
    total += d;
    n++;
  });
  const C = sums.length;
  if (C === 0) return { mean: NaN, lo: NaN, hi: NaN, level, clusters: 0 };
  const rng = new Rng(opts.seed ?? 1);
  const means = new Float64Array(rounds);
  for (let r = 0; r < rounds; r++) {
    let s = 0;
    let c = 0;
    for (let i = 0; i < C; i++) {
      const k = rng.int(C);
      s += sums[k]!;
      c += counts[k]!;
    }
    means[r] = s / c;
  }
  means.sort();
  const at = (p: number) => means[Math.min(rounds - 1, Math.max(0, Math.floor(p * rounds)))]!;
  return {
    mean: total / n,
    lo: at((1 - level) / 2),
    hi: at(1 - (1 - level) / 2),
    level,
    clusters: C,
  };
}
