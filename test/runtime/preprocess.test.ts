import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DEFAULT_PREPROCESS } from '../../src/model/preprocess-spec.js';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  loadPixels,
  normalizePixels,
  preprocessBatch,
  preprocessImage,
} from '../../src/runtime/preprocess.js';

/** A w x h RGB image, left half red, right half blue, as raw bytes. */
function halves(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) px.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
  return px;
}

test('normalizePixels keeps its ImageNet behaviour', () => {
  const out = normalizePixels(Uint8Array.from([255, 0, 128]), 3);
  assert.ok(Math.abs(out[0]! - (1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]) < 1e-6);
  assert.ok(Math.abs(out[1]! - -IMAGENET_MEAN[1] / IMAGENET_STD[1]) < 1e-6);
  assert.ok(Math.abs(out[2]! - (128 / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2]) < 1e-6);
});

test('normalizePixels: every value of every channel is (p / 255 - mean) / std', () => {
  const spec = { ...DEFAULT_PREPROCESS, mean: [0.1, 0.5, 0.9], std: [0.3, 0.2, 0.1] } as const;
  // Each channel runs through all 256 values, out of step with the others.
  const px = Uint8Array.from({ length: 256 * 3 }, (_, i) => (i * 7 + (i % 3) * 85) % 256);
  for (const [channels, mean, std] of [
    [3, spec.mean, spec.std],
    [1, [0.5], [0.2]],
  ] as const) {
    const out = normalizePixels(px, channels, spec);
    assert.equal(out.length, px.length);
    for (let i = 0; i < px.length; i++) {
      const c = i % channels;
      const want = (px[i]! / 255 - mean[c]!) / std[c]!;
      assert.ok(Math.abs(out[i]! - want) < 1e-5, `value ${i} (channel ${c})`);
    }
  }
});

test('an encoded image is resized on its short side and centre-cropped', async () => {
  // 64 x 32: the short side goes to 16 (32 x 16), and the centre 16 x 16 keeps the middle half,
  // so the left 8 columns are red and the right 8 blue.
  const png = await sharp(halves(64, 32), { raw: { width: 64, height: 32, channels: 3 } })
    .png()
    .toBuffer();
  const px = await loadPixels(png, { size: 16, channels: 3 });
  assert.equal(px.length, 16 * 16 * 3);
  // (the resampling kernel rings a little next to the edge, so look a few pixels away from it)
  const near = (img: Uint8Array, x: number, y: number, rgb: number[]) => {
    const got = [...img.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)];
    assert.ok(
      got.every((v, i) => Math.abs(v - rgb[i]!) <= 3),
      `(${x}, ${y}): ${got} not ${rgb}`,
    );
  };
  for (const y of [0, 8, 15]) {
    near(px, 0, y, [255, 0, 0]);
    near(px, 4, y, [255, 0, 0]);
    near(px, 11, y, [0, 0, 255]);
    near(px, 15, y, [0, 0, 255]);
  }
  // cropPct 0.5 resizes to 64 x 32 first and keeps the centre 16 x 16: the middle quarter
  const tight = await loadPixels(png, { size: 16, channels: 3, cropPct: 0.5 });
  near(tight, 0, 0, [255, 0, 0]);
  near(tight, 15, 15, [0, 0, 255]);
});

test('raw pixels, grey output, transparency on white, and batches', async () => {
  const raw = { data: halves(8, 8), width: 8, height: 8, channels: 3 as const };
  const grey = await loadPixels(raw, { size: 8, channels: 1 });
  assert.equal(grey.length, 64);
  assert.ok(grey[0]! > grey[7]! + 20, `red is lighter than blue in grey: ${grey[0]} vs ${grey[7]}`);
  const clear = await sharp({
    create: { width: 4, height: 4, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
  })
    .png()
    .toBuffer();
  assert.deepEqual(
    [...(await loadPixels(clear, { size: 4, channels: 3 })).subarray(0, 3)],
    [255, 255, 255],
  );
  const one = await preprocessImage(raw, { size: 8, channels: 3 });
  const batch = await preprocessBatch([raw, raw], { size: 8, channels: 3 });
  assert.deepEqual(batch.subarray(0, one.length), one);
  assert.deepEqual(batch.subarray(one.length), one);
  assert.deepEqual(one, normalizePixels(await loadPixels(raw, { size: 8, channels: 3 }), 3));
});

test('undecodable input and bad options are ValidationErrors', async () => {
  await assert.rejects(loadPixels(Uint8Array.from([1, 2, 3]), { size: 8, channels: 3 }), {
    code: 'E_VALIDATION',
    message: /cannot decode/,
  });
  await assert.rejects(loadPixels('/nonexistent.png', { size: 8, channels: 3 }), {
    code: 'E_VALIDATION',
  });
  const raw = { data: halves(4, 4), width: 4, height: 4, channels: 3 as const };
  await assert.rejects(loadPixels(raw, { size: 0, channels: 3 }), { code: 'E_VALIDATION' });
  await assert.rejects(loadPixels(raw, { size: 4, channels: 3, cropPct: 1.5 }), {
    code: 'E_VALIDATION',
  });
});
