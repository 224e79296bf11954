import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symmetricEigen } from '../../src/util/eigen.js';
import { Rng } from '../../src/util/rng.js';

/** A random symmetric matrix Q diag(λ) Qᵀ with known eigenvalues (Q from Gram-Schmidt). */
function withSpectrum(lambda: readonly number[], rng: Rng): Float64Array {
  const n = lambda.length;
  const Q: number[][] = [];
  while (Q.length < n) {
    const v = Array.from({ length: n }, () => rng.normal());
    for (const q of Q) {
      const d = v.reduce((s, x, i) => s + x * q[i]!, 0);
      for (let i = 0; i < n; i++) v[i]! -= d * q[i]!;
    }
    const norm = Math.hypot(...v);
    if (norm > 1e-6) Q.push(v.map((x) => x / norm));
  }
  const A = new Float64Array(n * n);
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) A[i * n + j]! += lambda[k]! * Q[k]![i]! * Q[k]![j]!;
  return A;
}

test('eigenvalues of a matrix built from a known spectrum come back sorted, largest first', () => {
  const rng = new Rng(3);
  const lambda = Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? 0 : 10 * rng.uniform() - 3));
  const { values } = symmetricEigen(withSpectrum(lambda, rng), 24);
  const want = [...lambda].sort((a, b) => b - a);
  values.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-9, `λ${i}: ${v} vs ${want[i]}`));
});

test('A v = λ v for every returned pair, and the vectors are orthonormal', () => {
  const rng = new Rng(5);
  const n = 17;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) A[i * n + j] = A[j * n + i] = rng.normal();
  const { values, vectors } = symmetricEigen(A, n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += A[i * n + j]! * vectors[k * n + j]!;
      assert.ok(Math.abs(av - values[k]! * vectors[k * n + i]!) < 1e-9, `row ${i} of pair ${k}`);
    }
    for (let m = 0; m < n; m++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += vectors[k * n + i]! * vectors[m * n + i]!;
      assert.ok(Math.abs(dot - (k === m ? 1 : 0)) < 1e-9, `<v${k}, v${m}> = ${dot}`);
    }
  }
});

test('a diagonal matrix and a 2x2 rotation case', () => {
  const d = symmetricEigen(Float64Array.from([1, 0, 0, 0, 3, 0, 0, 0, 2]), 3);
  assert.deepEqual([...d.values], [3, 2, 1]);
  const r = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
  assert.ok(Math.abs(r.values[0]! - 3) < 1e-12 && Math.abs(r.values[1]! - 1) < 1e-12);
  assert.ok(Math.abs(Math.abs(r.vectors[0]!) - Math.SQRT1_2) < 1e-12);
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), RangeError);
});
