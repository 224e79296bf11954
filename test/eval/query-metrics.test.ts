import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  estimate,
  pairedChange,
  perQueryMetrics,
  pickQueries,
} from '../../src/eval/query-metrics.js';

// Three queries over a database 0..9; relevant items per query, and their rankings.
const relevant = [new Set([2, 7]), new Set([0]), new Set<number>()];
const ranks = [
  [5, 2, 9, 7, 1, 0, 3, 4, 6, 8], // hits at ranks 2 and 4
  [0, 1, 2], // hit at rank 1
  [1, 2, 3], // nothing relevant exists
];
const pq = perQueryMetrics(
  ranks,
  (q, j) => relevant[q]!.has(j),
  (q) => relevant[q]!.size,
);

test('hit@1, hit@10, AP@10 and precision@10 on a hand-made ranking', () => {
  assert.deepEqual([...pq.hit1.slice(0, 2)], [0, 1]);
  assert.deepEqual([...pq.hit10.slice(0, 2)], [1, 1]);
  // AP: (1/2 + 2/4) / min(10, 2) = 0.5; (1/1) / 1 = 1.
  assert.ok(Math.abs(pq.ap10[0]! - 0.5) < 1e-12);
  assert.equal(pq.ap10[1], 1);
  assert.deepEqual([...pq.p10.slice(0, 2)], [0.2, 0.1]);
  // A query with nothing to find is not scored.
  for (const a of [pq.hit1, pq.hit10, pq.ap10, pq.p10]) assert.ok(Number.isNaN(a[2]!));
});

test('estimate: the mean of scored queries; a constant has a zero-width interval', () => {
  const e = estimate(pq.hit1, Int32Array.from([0, 1, 2]));
  assert.equal(e.mean, 0.5);
  const c = estimate(Float64Array.from([1, 1, 1, 1]), Int32Array.from([0, 0, 1, 2]));
  assert.deepEqual([c.mean, c.lo, c.hi], [1, 1, 1]);
});

test('pairedChange and pickQueries', () => {
  const narrow = pickQueries(pq, [1, 0]);
  assert.deepEqual([...narrow.hit1], [1, 0]);
  const ch = pairedChange(narrow, pickQueries(pq, [0, 1]), Int32Array.from([0, 1]), 'recallAt1');
  assert.equal(ch.mean, 0); // +1 and -1
  assert.ok(ch.lo < 0 && ch.hi > 0);
});
