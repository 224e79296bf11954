import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dHash, hamming, lowDct8, pHash } from '../../src/eval/hashes.js';
import { Rng } from '../../src/util/rng.js';

/** 9x8 grey image whose row y is f(x, y). */
const grid9x8 = (f: (x: number, y: number) => number) =>
  Array.from({ length: 72 }, (_, i) => f(i % 9, Math.floor(i / 9)));

test('dHash of a left-to-right rising gradient is all zeros, of a falling one all ones', () => {
  assert.deepEqual([...dHash(grid9x8((x) => 10 * x))], [0, 0]);
  assert.deepEqual([...dHash(grid9x8((x) => 200 - 10 * x))], [0xffffffff, 0xffffffff]);
});

test('dHash sets bit 8y + x (most significant first) where pixel x is brighter than x + 1', () => {
  // Only row 0 falls: bits 0..7 = the top byte of the first word.
  assert.deepEqual([...dHash(grid9x8((x, y) => (y === 0 ? 100 - x : x)))], [0xff000000, 0]);
  // Only the last pair of the last row falls: bit 63 = the lowest bit of the second word.
  const h = dHash(grid9x8((x, y) => (y === 7 && x === 8 ? 0 : x + 1)));
  assert.deepEqual([...h], [0, 1]);
});

test('the low DCT matches the textbook double sum', () => {
  const rng = new Rng(3);
  const img = Array.from({ length: 1024 }, () => rng.int(256));
  const c = lowDct8(img);
  for (const [u, v] of [
    [0, 0],
    [0, 3],
    [5, 1],
    [7, 7],
  ] as const) {
    let s = 0;
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++)
        s +=
          img[y * 32 + x]! *
          Math.cos((Math.PI * (2 * y + 1) * u) / 64) *
          Math.cos((Math.PI * (2 * x + 1) * v) / 64);
    assert.ok(Math.abs(c[u * 8 + v]! - s) < 1e-6 * Math.max(1, Math.abs(s)), `[${u},${v}]`);
  }
});

test('pHash: half of the 64 bits set, unchanged by scaling the brightness, changed by other content', () => {
  const rng = new Rng(5);
  const img = Array.from({ length: 1024 }, () => rng.int(128));
  const h = pHash(img);
  assert.equal(hamming(h, 0, new Uint32Array(2), 0), 32); // above the median of 64 distinct values
  assert.deepEqual([...pHash(img.map((p) => 2 * p))], [...h]);
  assert.deepEqual([...pHash(img.map((p) => 0.5 * p))], [...h]);
  const other = Array.from({ length: 1024 }, () => rng.int(128));
  assert.ok(hamming(pHash(other), 0, h, 0) > 10);
});

test('hamming counts differing bits across both words and rows', () => {
  const A = Uint32Array.from([0, 0, 0xff, 0x80000001]);
  const B = Uint32Array.from([0xffffffff, 0xffffffff, 0, 1]);
  assert.equal(hamming(A, 0, B, 0), 64);
  assert.equal(hamming(A, 1, B, 1), 8 + 1);
  assert.equal(hamming(A, 1, A, 1), 0);
  assert.equal(hamming(A, 0, B, 1), 1);
});
