import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  addBorder,
  downscale,
  gaussianBlur,
  greyscale,
  jpegArtifacts,
} from '../../src/train/distort.js';
import { augmentView, centerView, type AugmentOptions } from '../../src/train/augment.js';
import { Rng } from '../../src/util/rng.js';

/** A smooth colour image with an asymmetric feature, [S, S, 3] in [0, 1]. */
function smooth(S: number): Float32Array {
  const v = new Float32Array(S * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const i = (y * S + x) * 3;
      v[i] = x / (S - 1);
      v[i + 1] = y / (S - 1);
      v[i + 2] = 0.5 + 0.4 * Math.sin((x * y) / 40);
    }
  return v;
}

const meanAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

test('JPEG artifacts match libjpeg (through sharp) at the same quality, 4:4:4', async () => {
  const S = 64;
  const v = smooth(S);
  // Hard edges too, so the quantisation shows.
  for (let y = 20; y < 40; y++)
    for (let x = 10; x < 30; x++) v.fill(1, (y * S + x) * 3, (y * S + x) * 3 + 3);
  const bytes = Buffer.from(Uint8Array.from(v, (x) => Math.round(x * 255)));
  const ref = v.map((x) => Math.round(x * 255) / 255);
  for (const q of [20, 50]) {
    const jpeg = await sharp(bytes, { raw: { width: S, height: S, channels: 3 } })
      .jpeg({ quality: q, chromaSubsampling: '4:4:4', optimiseCoding: false })
      .toBuffer();
    const decoded = await sharp(jpeg).raw().toBuffer();
    const oracle = Float32Array.from(decoded, (x) => x / 255);
    const ours = ref.slice();
    jpegArtifacts(ours, S, q);
    const lost = meanAbs(oracle, ref);
    assert.ok(lost > 0.004, `libjpeg at q${q} changes the image (${lost})`);
    // Ours differs from libjpeg by far less than either differs from the original.
    assert.ok(
      meanAbs(ours, oracle) < lost / 3,
      `q${q}: ours vs libjpeg ${meanAbs(ours, oracle)}, loss ${lost}`,
    );
  }
  const hi = ref.slice();
  jpegArtifacts(hi, S, 100);
  assert.ok(meanAbs(hi, ref) < 2 / 255, 'quality 100 is nearly lossless');
});

test('blur, downscale and greyscale keep what they must', () => {
  const S = 16;
  const flat = new Float32Array(S * S * 3).fill(0.3);
  for (const f of [
    (v: Float32Array) => gaussianBlur(v, S, 1.2),
    (v: Float32Array) => downscale(v, S, 3),
  ]) {
    const v = flat.slice();
    f(v);
    assert.ok(meanAbs(v, flat) < 1e-6, 'a flat image stays flat');
  }
  // An impulse far from the edges keeps its mass under blur and spreads symmetrically.
  const imp = new Float32Array(S * S * 3);
  imp[(8 * S + 8) * 3] = 1;
  gaussianBlur(imp, S, 1);
  let mass = 0;
  for (let i = 0; i < imp.length; i += 3) mass += imp[i]!;
  assert.ok(Math.abs(mass - 1) < 1e-5);
  assert.ok(Math.abs(imp[(8 * S + 7) * 3]! - imp[(8 * S + 9) * 3]!) < 1e-7);
  assert.ok(Math.abs(imp[(7 * S + 8) * 3]! - imp[(8 * S + 7) * 3]!) < 1e-7);
  // A 1-pixel checkerboard averaged in 2x2 boxes is uniform grey.
  const board = new Float32Array(S * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) board.fill((x + y) % 2, (y * S + x) * 3, (y * S + x) * 3 + 3);
  downscale(board, S, 2);
  assert.ok(board.every((x) => Math.abs(x - 0.5) < 1e-6));
  const c = smooth(S);
  greyscale(c);
  for (let i = 0; i < c.length; i += 3) assert.ok(c[i] === c[i + 1] && c[i] === c[i + 2]);
});

test('a border surrounds a shrunken copy in one colour', () => {
  const S = 32;
  const v = smooth(S);
  addBorder(v, S, new Rng(4));
  const corners = [0, S - 1, S * (S - 1), S * S - 1].map((p) => [...v.subarray(p * 3, p * 3 + 3)]);
  // At least two corners are border (the content is at most 90% of the side, placed anywhere).
  const same = corners.filter((c) => c.every((x, k) => x === corners[0]![k] || false));
  assert.ok(same.length >= 1);
  assert.notDeepEqual([...v], [...smooth(S)]);
});

test('quarter turns rotate the view exactly, and all four occur', () => {
  const src = 8;
  const img = new Uint8Array(src * src * 3);
  for (let i = 0; i < img.length; i++) img[i] = (i * 37) % 251;
  const o: AugmentOptions = {
    size: src,
    channels: 3,
    scale: [1, 1],
    ratio: [1, 1],
    flip: false,
    jitter: 0,
    rot90: true,
  };
  const base = new Float32Array(src * src * 3);
  centerView(img, src, 3, src, 3, base);
  // Oracle: turn an [S, S, 3] array clockwise by index arithmetic.
  const turn = (v: Float32Array) => {
    const out = new Float32Array(v.length);
    for (let y = 0; y < src; y++)
      for (let x = 0; x < src; x++)
        for (let c = 0; c < 3; c++)
          out[(x * src + (src - 1 - y)) * 3 + c] = v[(y * src + x) * 3 + c]!;
    return out;
  };
  const turns = [base, turn(base), turn(turn(base)), turn(turn(turn(base)))];
  const seen = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const out = new Float32Array(src * src * 3);
    augmentView(img, src, 3, o, new Rng(seed), out);
    const k = turns.findIndex((t) => meanAbs(t, out) < 1e-6);
    assert.ok(k >= 0, `seed ${seed}: the view is not a quarter turn of the image`);
    seen.add(k);
  }
  assert.equal(seen.size, 4);
});
