import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { ssdChunked, ssdRecurrence } from '../../src/model/ssd.js';
import { Rng } from '../../src/util/rng.js';
import { relErr, setup } from '../helpers.js';

before(setup);

interface Case {
  B: number;
  L: number;
  H: number;
  P: number;
  N: number;
  dtMax: number;
  aMax: number;
}

function randomCase(c: Case, seed: number) {
  const rng = new Rng(seed);
  const r = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  return {
    x: r(c.B * c.L * c.H * c.P, () => rng.normal()),
    dt: r(c.B * c.L * c.H, () => 0.001 + rng.uniform() * c.dtMax),
    A: r(c.H, () => -(0.05 + rng.uniform() * c.aMax)),
    Bm: r(c.B * c.L * c.N, () => rng.normal()),
    Cm: r(c.B * c.L * c.N, () => rng.normal()),
  };
}

function chunked(c: Case, d: ReturnType<typeof randomCase>, chunk: number): Float32Array {
  const y = tf.tidy(() =>
    ssdChunked(
      tf.tensor4d(d.x, [c.B, c.L, c.H, c.P]),
      tf.tensor3d(d.dt, [c.B, c.L, c.H]),
      tf.tensor1d(d.A),
      tf.tensor3d(d.Bm, [c.B, c.L, c.N]),
      tf.tensor3d(d.Cm, [c.B, c.L, c.N]),
      chunk,
    ),
  );
  const out = y.dataSync() as Float32Array;
  y.dispose();
  return out;
}

test('chunked SSD equals the step-by-step recurrence for many chunk lengths', () => {
  const c: Case = { B: 2, L: 37, H: 3, P: 4, N: 5, dtMax: 0.5, aMax: 2 };
  const d = randomCase(c, 1);
  const ref = ssdRecurrence(d.x, d.dt, d.A, d.Bm, d.Cm, c);
  // 1 (every step a chunk), dividing and non-dividing lengths, equal to L, longer than L.
  for (const chunk of [1, 2, 5, 8, 16, 37, 64, 256]) {
    const err = relErr(chunked(c, d, chunk), ref);
    assert.ok(err < 1e-4, `chunk ${chunk}: relative error ${err}`);
  }
});

test('chunked SSD stays accurate with strong decay over long sequences', () => {
  // dt·A down to -16 per step: a naive cumsum-difference segsum would lose everything.
  const c: Case = { B: 1, L: 300, H: 2, P: 3, N: 4, dtMax: 1, aMax: 16 };
  const d = randomCase(c, 2);
  const ref = ssdRecurrence(d.x, d.dt, d.A, d.Bm, d.Cm, c);
  for (const chunk of [64, 256, 300]) {
    const y = chunked(c, d, chunk);
    assert.ok(y.every(Number.isFinite), `chunk ${chunk}: non-finite output`);
    const err = relErr(y, ref);
    assert.ok(err < 1e-4, `chunk ${chunk}: relative error ${err}`);
  }
});

test('chunked SSD is causal: changing a late input leaves earlier outputs unchanged', () => {
  const c: Case = { B: 1, L: 20, H: 2, P: 2, N: 3, dtMax: 0.5, aMax: 2 };
  const d = randomCase(c, 3);
  const y1 = chunked(c, d, 6);
  const t = 13;
  for (let i = t * c.H * c.P; i < (t + 1) * c.H * c.P; i++) d.x[i] = d.x[i]! + 5;
  const y2 = chunked(c, d, 6);
  const before = t * c.H * c.P;
  assert.deepEqual(y1.slice(0, before), y2.slice(0, before));
  assert.notDeepEqual(y1.slice(before), y2.slice(before));
});

test('chunked SSD frees its intermediates', () => {
  const c: Case = { B: 1, L: 10, H: 2, P: 2, N: 3, dtMax: 0.5, aMax: 2 };
  const d = randomCase(c, 4);
  chunked(c, d, 3); // warm the mask cache
  const n0 = tf.memory().numTensors;
  chunked(c, d, 3);
  assert.equal(tf.memory().numTensors, n0);
});
