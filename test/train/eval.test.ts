import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { rankTopK } from '../../src/eval/rank.js';
import { evaluate } from '../../src/eval/evaluate.js';
import {
  metricsFromRanks,
  retrievalMetrics,
  crossGroupRecallAt1,
} from '../../src/eval/retrieval.js';
import { Rng } from '../../src/util/rng.js';
import { setup } from '../helpers.js';

before(setup);

test('blocked tfjs ranking gives the same metrics as a plain brute-force loop', () => {
  const rng = new Rng(9);
  const d = 12;
  const nq = 70;
  const nd = 300;
  const Q = Float32Array.from({ length: nq * d }, () => rng.normal());
  const D = Float32Array.from({ length: nd * d }, () => rng.normal());
  const ql = Int32Array.from({ length: nq }, () => rng.int(7));
  const dl = Int32Array.from({ length: nd }, () => rng.int(7));
  const skip = (q: number, j: number) => (q + j) % 5 === 0;
  const oracle = retrievalMetrics(Q, ql, D, dl, d, skip);
  const ranks = rankTopK(Q, D, d, 10, skip, 16);
  const rel = (q: number) => [...dl.keys()].filter((j) => !skip(q, j) && dl[j] === ql[q]).length;
  const fast = metricsFromRanks(ranks, (q, j) => dl[j] === ql[q], rel);
  assert.equal(fast.queries, oracle.queries);
  for (const k of ['recallAt1', 'recallAt10', 'mapAt10'] as const)
    assert.ok(Math.abs(fast[k] - oracle[k]) < 1e-9, k);
});

test('metrics on a hand-made ranking', () => {
  // query 0 (label 1): ranked [a(1), b(0), c(1)] with 2 relevant -> AP = (1/1 + 2/3) / 2
  const m = metricsFromRanks(
    [[0, 1, 2]],
    (_q, j) => j !== 1,
    () => 2,
  );
  assert.equal(m.recallAt1, 1);
  assert.ok(Math.abs(m.mapAt10 - (1 + 2 / 3) / 2) < 1e-12);
  // two vendors, identical features per identity -> perfect cross-vendor recall
  const F = Float32Array.from([1, 0, 0, 1, 1, 0, 0, 1]);
  assert.equal(
    crossGroupRecallAt1(F, 2, Int32Array.from([0, 1, 0, 1]), Int32Array.from([0, 0, 1, 1])),
    1,
  );
});

test('eval refuses --split train where training queries would find themselves', async () => {
  await assert.rejects(
    evaluate({
      modelDir: 'no-such-model',
      data: { kind: 'fmnist' },
      outDir: 'unused',
      widths: ['1'],
      mixPoints: [],
      queries: 10,
      split: 'train',
      log: () => {},
    }),
    /--split train needs --data emoji/,
  );
});
