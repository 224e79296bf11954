import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterBootstrap } from '../../src/eval/bootstrap.js';
import { apAt10PerQuery } from '../../src/eval/retrieval.js';
import { Rng } from '../../src/util/rng.js';

test('the bootstrap interval matches the analytic standard error, per query and per cluster', () => {
  const rng = new Rng(3);
  // 4000 independent queries, mean 0.3, sd 1: the 95% half-width is 1.96 / sqrt(4000).
  const iid = Float64Array.from({ length: 4000 }, () => 0.3 + rng.normal());
  const own = Int32Array.from(iid, (_, q) => q);
  const a = clusterBootstrap(iid, own, { rounds: 4000 });
  const sd = Math.sqrt(iid.reduce((s, x) => s + (x - a.mean) ** 2, 0) / (iid.length - 1));
  const half = (1.96 * sd) / Math.sqrt(iid.length);
  assert.ok(Math.abs((a.hi - a.lo) / 2 / half - 1) < 0.15, `${(a.hi - a.lo) / 2} vs ${half}`);
  assert.ok(a.lo < a.mean && a.mean < a.hi && a.clusters === 4000);

  // 400 clusters of 10 identical queries: only 400 independent units, so the interval is
  // sqrt(10) times wider than treating the 4000 queries as independent would claim.
  const perCluster = Array.from({ length: 400 }, () => rng.normal());
  const clustered = Float64Array.from({ length: 4000 }, (_, q) => perCluster[q % 400]!);
  const ids = Int32Array.from(clustered, (_, q) => q % 400);
  const b = clusterBootstrap(clustered, ids, { rounds: 4000 });
  const sdC = Math.sqrt(perCluster.reduce((s, x) => s + (x - b.mean) ** 2, 0) / 399);
  const halfC = (1.96 * sdC) / Math.sqrt(400);
  assert.equal(b.clusters, 400);
  assert.ok(Math.abs((b.hi - b.lo) / 2 / halfC - 1) < 0.15, `${(b.hi - b.lo) / 2} vs ${halfC}`);
  const naive = clusterBootstrap(
    clustered,
    Int32Array.from(clustered, (_, q) => q),
  );
  assert.ok((b.hi - b.lo) / (naive.hi - naive.lo) > 2.5);

  // A constant difference has a degenerate interval; unscored (NaN) queries are left out.
  const c = clusterBootstrap(Float64Array.from([-0.02, -0.02, NaN, -0.02]), own.subarray(0, 4));
  assert.deepEqual([c.mean, c.lo, c.hi, c.clusters], [-0.02, -0.02, -0.02, 3]);
});

test('AP@10 per query on a hand-made ranking; a query with nothing relevant is NaN', () => {
  const ap = apAt10PerQuery(
    [
      [0, 1, 2],
      [3, 4],
    ],
    (q, j) => q === 0 && j !== 1,
    (q) => (q === 0 ? 2 : 0),
  );
  assert.ok(Math.abs(ap[0]! - (1 + 2 / 3) / 2) < 1e-12);
  assert.ok(Number.isNaN(ap[1]!));
});
