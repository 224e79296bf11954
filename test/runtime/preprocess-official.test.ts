/**
 * The official evaluation preprocessing (crop-resize, OFFICIAL_EVAL_PREPROCESS) against oracles
 * computed here by hand: the centre square of side floor(0.875 * min(h, w)) at offset
 * ((w - c) // 2, (h - c) // 2), area-averaged to the output side, ImageNet mean and std.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp, { type Metadata } from 'sharp';
import { decodeInput, workBox } from '../../ingest/decode.js';
import { loadPixels, normalizePixels, preprocessImage } from '../../src/runtime/preprocess.js';
import {
  DEFAULT_PREPROCESS,
  OFFICIAL_EVAL_PREPROCESS,
  type PreprocessSpec,
} from '../../src/model/preprocess-spec.js';

const OFFICIAL = OFFICIAL_EVAL_PREPROCESS;

/** A w x h RGB image whose every pixel and channel differs. */
function synthetic(w: number, h: number) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = (x * 11 + y * 7 + c * 50) % 256;
  return { data, width: w, height: h, channels: 3 as const };
}

test('a 20x16 image: the centre 14x14 square from (3, 1), each 2x2 block averaged to 7x7', async () => {
  const img = synthetic(20, 16);
  // floor(0.875 * 16) = 14; x0 = (20 - 14) // 2 = 3; y0 = (16 - 14) // 2 = 1; 14 / 7 = 2.
  const want = new Uint8Array(7 * 7 * 3);
  for (let i = 0; i < 7; i++)
    for (let j = 0; j < 7; j++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const [dy, dx] of [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ])
          s += img.data[((1 + 2 * i + dy!) * 20 + 3 + 2 * j + dx!) * 3 + c]!;
        want[(i * 7 + j) * 3 + c] = Math.round(s / 4);
      }
  const got = await loadPixels(img, { size: 7, channels: 3, preprocess: OFFICIAL });
  assert.deepEqual([...got], [...want]);
  // The same through a PNG file's decode (ingest and search): this small image is not shrunk.
  const png = await sharp(img.data, { raw: { width: 20, height: 16, channels: 3 } })
    .png()
    .toBuffer();
  const decoded = await decodeInput(png, {
    maxPixels: 1e8,
    inputSize: 7,
    inputChannels: 3,
    preprocess: OFFICIAL,
  });
  assert.deepEqual([...decoded], [...normalizePixels(want, 3, OFFICIAL)]);
});

test('a non-integer ratio is area-weighted: each output pixel is the mean over its exact footprint', async () => {
  const img = synthetic(13, 9);
  // floor(0.875 * 9) = 7; x0 = (13 - 7) // 2 = 3; y0 = 1; 7 source pixels onto 3.
  const got = await loadPixels(img, { size: 3, channels: 3, preprocess: OFFICIAL });
  // Oracle: supersample each source pixel into 3x3 sub-pixels, so every output pixel covers
  // exactly 7x7 sub-pixels, and average them.
  const want: number[] = [];
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let v = 0; v < 7; v++)
          for (let u = 0; u < 7; u++) {
            const y = 1 + Math.floor((i * 7 + v) / 3);
            const x = 3 + Math.floor((j * 7 + u) / 3);
            s += img.data[(y * 13 + x) * 3 + c]!;
          }
        want.push(Math.round(s / 49));
      }
  assert.deepEqual([...got], want);
});

test('the official mean and std normalise; our default keeps the short-side resize', async () => {
  const img = synthetic(8, 8);
  const spec: PreprocessSpec = { ...OFFICIAL, mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] };
  const x = await preprocessImage(img, { size: 7, channels: 3, preprocess: spec });
  const px = await loadPixels(img, { size: 7, channels: 3, preprocess: spec });
  for (let k = 0; k < 6; k++)
    assert.ok(Math.abs(x[k]! - (px[k]! / 255 - 0.5) / spec.std[k % 3]!) < 1e-6);
  // DEFAULT_PREPROCESS is what no spec means: the same pixels as before this option existed.
  assert.deepEqual(
    await loadPixels(img, { size: 4, channels: 3, preprocess: DEFAULT_PREPROCESS }),
    await loadPixels(img, { size: 4, channels: 3 }),
  );
});

/** A smooth w x h RGB image (gradients), on which two good resamplers agree closely. */
function smooth(w: number, h: number) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      data[(y * w + x) * 3] = Math.round((255 * x) / w);
      data[(y * w + x) * 3 + 1] = Math.round((255 * y) / h);
      data[(y * w + x) * 3 + 2] = Math.round(127 + 100 * Math.sin(x / 40) * Math.cos(y / 30));
    }
  return { data, width: w, height: h, channels: 3 as const };
}

test('decode-once shrinks only to what the crop needs, and stays close to the full decode', async () => {
  const big = smooth(600, 400);
  // The crop takes 0.875 of the short side: the work image keeps a short side of 224 / 0.875.
  const meta = { width: 600, height: 400, format: 'png' } as Metadata;
  assert.deepEqual(workBox(meta, { thumbnailSize: 256, inputSize: 224, preprocess: OFFICIAL }), {
    width: 384,
    height: 256,
  });
  // Our own models' resize keeps only the input side: 224.
  assert.deepEqual(workBox(meta, { thumbnailSize: 256, inputSize: 224 }), {
    width: 336,
    height: 224,
  });
  assert.equal(
    workBox(meta, { thumbnailSize: 64, inputSize: 56, preprocess: { ...OFFICIAL, cropRatio: 0.5 } })
      .height,
    112,
  );
  const png = await sharp(big.data, { raw: { width: 600, height: 400, channels: 3 } })
    .png()
    .toBuffer();
  const viaDecode = await decodeInput(png, {
    maxPixels: 1e8,
    inputSize: 224,
    inputChannels: 3,
    preprocess: OFFICIAL,
  });
  const direct = normalizePixels(
    await loadPixels(big, { size: 224, channels: 3, preprocess: OFFICIAL }),
    3,
    OFFICIAL,
  );
  let diff = 0;
  for (let i = 0; i < direct.length; i++) diff += Math.abs(viaDecode[i]! - direct[i]!);
  // Mean difference under 2 grey levels (std ~0.225: 2/255/0.225 = 0.035).
  assert.ok(diff / direct.length < 0.035, `mean |diff| ${diff / direct.length}`);
});
