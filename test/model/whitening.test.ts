import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyWhitening,
  fitAdapter,
  learnWhitening,
  pairCovariance,
} from '../../src/model/whitening.js';
import { Rng } from '../../src/util/rng.js';

const D = 8;

/**
 * Images are points spread over dims 0-4 (small) and 5-7 (large); a copy adds a large nuisance
 * along dims 5-7 only, so the directions with the most variance are the least informative.
 */
function synthetic(n: number, seed: number) {
  const rng = new Rng(seed);
  const a = new Float32Array(n * D);
  const b = new Float32Array(n * D);
  for (let i = 0; i < n; i++)
    for (let d = 0; d < D; d++) {
      const v = rng.normal() * (d < 5 ? 0.3 : 1);
      a[i * D + d] = v;
      b[i * D + d] = v + (d < 5 ? 0.05 * rng.normal() : 2 * rng.normal());
    }
  return { a, b };
}

function quadForm(P: Float32Array, C: Float64Array): Float64Array {
  // P C Pᵀ [D, D]
  const out = new Float64Array(D * D);
  for (let i = 0; i < D; i++)
    for (let j = 0; j < D; j++) {
      let s = 0;
      for (let k = 0; k < D; k++)
        for (let l = 0; l < D; l++) s += P[i * D + k]! * C[k * D + l]! * P[j * D + l]!;
      out[i * D + j] = s;
    }
  return out;
}

test('P C_S Pᵀ = I and P C_D Pᵀ is diagonal, largest first (the definition, checked directly)', () => {
  const { a, b } = synthetic(4000, 1);
  const w = learnWhitening(a, [{ a, b, weight: 1 }], D, { epsilon: 1e-12 });
  const CS = pairCovariance([{ a, b, weight: 1 }], D);
  const mu = new Float64Array(D);
  for (let i = 0; i < 4000; i++) for (let d = 0; d < D; d++) mu[d]! += a[i * D + d]! / 4000;
  const CD = new Float64Array(D * D);
  for (let i = 0; i < 4000; i++)
    for (let p = 0; p < D; p++)
      for (let q = 0; q < D; q++)
        CD[p * D + q]! += ((a[i * D + p]! - mu[p]!) * (a[i * D + q]! - mu[q]!)) / 4000;
  const S = quadForm(w.weight, CS);
  const T = quadForm(w.weight, CD);
  for (let i = 0; i < D; i++)
    for (let j = 0; j < D; j++) {
      assert.ok(Math.abs(S[i * D + j]! - (i === j ? 1 : 0)) < 1e-4, `P C_S Pᵀ[${i}][${j}]`);
      if (i !== j) assert.ok(Math.abs(T[i * D + j]!) < 1e-4, `P C_D Pᵀ[${i}][${j}]`);
    }
  for (let i = 1; i < D; i++) assert.ok(T[i * D + i]! <= T[(i - 1) * D + i - 1]! + 1e-9);
  // The bias centres the database: the mean maps to 0.
  const y = applyWhitening(w, mu, D);
  for (const v of y) assert.ok(Math.abs(v) < 1e-5);
});

test('on held-out copies, whitening turns a losing cosine search into a winning one', () => {
  const learn = synthetic(4000, 2);
  const w = learnWhitening(learn.a, [{ a: learn.a, b: learn.b, weight: 1 }], D);
  const { a, b } = synthetic(300, 3);
  const recallAt1 = (map: (x: Float32Array) => Float32Array) => {
    const unit = (x: Float32Array) => {
      const y = map(x);
      const n = Math.hypot(...y) || 1;
      return y.map((v) => v / n);
    };
    const db = Array.from({ length: 300 }, (_, i) => unit(a.subarray(i * D, (i + 1) * D)));
    let hits = 0;
    for (let i = 0; i < 300; i++) {
      const q = unit(b.subarray(i * D, (i + 1) * D));
      let best = -1;
      let bestS = -Infinity;
      db.forEach((d, j) => {
        const s = d.reduce((acc, v, k) => acc + v * q[k]!, 0);
        if (s > bestS) [best, bestS] = [j, s];
      });
      if (best === i) hits++;
    }
    return hits / 300;
  };
  const raw = recallAt1((x) => x);
  const white = recallAt1((x) => applyWhitening(w, x, D));
  assert.ok(raw < 0.4, `raw recall@1 ${raw}`);
  assert.ok(white > 0.8 && white > raw + 0.4, `whitened recall@1 ${white}`);
});

test('families are weighted by share, not by size; bad input is refused', () => {
  const x = Float32Array.from({ length: 2 * D }, (_, i) => i);
  const zero = new Float32Array(2 * D);
  const big = { a: new Float32Array(100 * D).fill(1), b: new Float32Array(100 * D), weight: 1 };
  const small = { a: x, b: zero, weight: 1 };
  const both = pairCovariance([big, small], D);
  const one = pairCovariance([big], D);
  const other = pairCovariance([small], D);
  for (let k = 0; k < D * D; k++)
    assert.ok(Math.abs(both[k]! - (one[k]! + other[k]!) / 2) < 1e-9, `entry ${k}`);
  assert.throws(() => pairCovariance([{ a: x, b: new Float32Array(D), weight: 1 }], D), RangeError);
  assert.throws(() => learnWhitening(new Float32Array(D), [small], D), RangeError);
});

test('an adapter fitted to y = M x recovers M (and with a large ridge stays near I)', () => {
  const rng = new Rng(4);
  const n = 500;
  const M = Float32Array.from({ length: D * D }, () => rng.normal() / Math.sqrt(D));
  const x = Float32Array.from({ length: n * D }, () => rng.normal());
  const y = new Float32Array(n * D);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < D; o++) {
      let acc = 0;
      for (let k = 0; k < D; k++) acc += M[o * D + k]! * x[i * D + k]!;
      y[i * D + o] = acc;
    }
  const A = fitAdapter(x, y, D, 1e-9);
  for (let k = 0; k < D * D; k++) assert.ok(Math.abs(A[k]! - M[k]!) < 1e-4, `entry ${k}`);
  const near = fitAdapter(x, y, D, 1e9);
  for (let i = 0; i < D; i++)
    for (let j = 0; j < D; j++)
      assert.ok(Math.abs(near[i * D + j]! - (i === j ? 1 : 0)) < 1e-3, `ridge entry ${i},${j}`);
  assert.throws(() => fitAdapter(x, y.subarray(D), D), RangeError);
});
