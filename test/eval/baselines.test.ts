import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baselineFeatures, centred, colourHistogram, luma } from '../../src/eval/baselines.js';

test('colour histogram: 8 levels per channel, index r*64 + g*8 + b, square root of the share', () => {
  // One red pixel, three blue ones, bins by the top three bits (31 -> 0, 32 -> 1).
  const h = colourHistogram(Uint8Array.from([255, 0, 0, 0, 0, 255, 31, 0, 255, 32, 0, 224]));
  assert.equal(h.length, 512);
  assert.ok(Math.abs(h[7 * 64]! - Math.sqrt(0.25)) < 1e-6);
  assert.ok(Math.abs(h[7]! - Math.sqrt(0.5)) < 1e-6);
  assert.ok(Math.abs(h[64 + 7]! - Math.sqrt(0.25)) < 1e-6);
  const others = [...h.keys()].filter((k) => ![448, 7, 71].includes(k));
  assert.ok(others.every((k) => h[k] === 0));
  // Unit length, so a dot product is the Bhattacharyya coefficient (1 for the same image).
  assert.ok(Math.abs(h.reduce((s, v) => s + v * v, 0) - 1) < 1e-6);
});

test('centred removes the mean of all values; luma weights 0.299, 0.587, 0.114', () => {
  assert.deepEqual([...centred(Uint8Array.from([10, 20, 30, 40]))], [-15, -5, 5, 15]);
  const y = luma(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]));
  [0.299, 0.587, 0.114].forEach((w, i) => assert.ok(Math.abs(y[i]! - 255 * w) < 1e-3));
});

test('baseline features of a falling grey gradient: dHash all ones, flat histogram bins', async () => {
  const W = 90;
  const H = 40;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) data.fill(250 - 2 * x, (y * W + x) * 3, (y * W + x + 1) * 3);
  const f = await baselineFeatures({ data, width: W, height: H, channels: 3 });
  assert.deepEqual([...f.dhash], [0xffffffff, 0xffffffff]);
  assert.equal(f.thumb16.length, 768);
  assert.equal(f.thumb32.length, 3072);
  // Grey only: every occupied bin has r = g = b.
  f['colour-hist'].forEach((v, k) => {
    if (v > 0) assert.ok(k >> 6 === ((k >> 3) & 7) && k >> 6 === (k & 7), `bin ${k}`);
  });
});
