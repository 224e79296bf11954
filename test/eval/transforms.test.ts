import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyTransform,
  COPY_TRANSFORMS,
  cropBox,
  type RgbImage,
} from '../../src/eval/transforms.js';
import { Rng } from '../../src/util/rng.js';

/** W x H image whose pixel (x, y) is (x, y, 7 x + 13 y) (distinct everywhere). */
function coded(W: number, H: number): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) data.set([x, y, (7 * x + 13 * y) % 256], (y * W + x) * 3);
  return { data, width: W, height: H, channels: 3 };
}

const px = (img: RgbImage, x: number, y: number) => [
  ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x + 1) * 3),
];

test('rot90 turns the image clockwise: new (x, y) is old (y, H - 1 - x)', async () => {
  const img = coded(5, 3);
  const r = await applyTransform('rot90', img, new Rng(0));
  assert.deepEqual([r.width, r.height], [3, 5]);
  for (let y = 0; y < 5; y++)
    for (let x = 0; x < 3; x++) assert.deepEqual(px(r, x, y), px(img, y, 3 - 1 - x), `(${x},${y})`);
});

test('flip mirrors each row; grey makes R = G = B; resize keeps a quarter of each side', async () => {
  const img = coded(8, 4);
  const f = await applyTransform('flip', img, new Rng(0));
  for (let y = 0; y < 4; y++)
    for (let x = 0; x < 8; x++) assert.deepEqual(px(f, x, y), px(img, 7 - x, y));
  const g = await applyTransform('grey', coded(16, 16), new Rng(0));
  for (let i = 0; i < g.data.length; i += 3)
    assert.ok(g.data[i] === g.data[i + 1] && g.data[i] === g.data[i + 2]);
  const q = await applyTransform('resize', coded(40, 24), new Rng(0));
  assert.deepEqual([q.width, q.height], [10, 6]);
});

test('crop boxes keep 50-80% of the area, inside the image, at varying places', () => {
  const rng = new Rng(1);
  const lefts = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const area = 0.5 + 0.3 * rng.uniform();
    const b = cropBox(640, 480, area, rng);
    const kept = (b.width * b.height) / (640 * 480);
    assert.ok(kept >= 0.5 - 0.01 && kept <= 0.8 + 0.01, `area ${kept}`);
    assert.ok(b.left >= 0 && b.top >= 0 && b.left + b.width <= 640 && b.top + b.height <= 480);
    lefts.add(b.left);
  }
  assert.ok(lefts.size > 50);
});

test('crop keeps pixels of the original unchanged, at its offset', async () => {
  const img = coded(60, 40);
  const c = await applyTransform('crop', img, new Rng(4));
  const area = (c.width * c.height) / (60 * 40);
  assert.ok(area >= 0.48 && area <= 0.82, `area ${area}`);
  // Find the offset from the coded top-left pixel, then compare everywhere.
  const [x0, y0] = px(c, 0, 0);
  for (let y = 0; y < c.height; y++)
    for (let x = 0; x < c.width; x++) assert.deepEqual(px(c, x, y), px(img, x0! + x, y0! + y));
});

test('every default transform runs, is seeded, and changes the image', async () => {
  assert.ok(COPY_TRANSFORMS.length >= 11);
  const rng = new Rng(2);
  const img: RgbImage = {
    data: Uint8Array.from({ length: 200 * 150 * 3 }, () => rng.int(256)),
    width: 200,
    height: 150,
    channels: 3,
  };
  for (const t of COPY_TRANSFORMS) {
    const a = await applyTransform(t, img, new Rng(9));
    const b = await applyTransform(t, img, new Rng(9));
    assert.equal(a.channels, 3);
    assert.deepEqual(a.data, b.data, `${t} is not reproducible`);
    assert.ok(
      a.width !== img.width ||
        a.height !== img.height ||
        !a.data.every((v, i) => v === img.data[i]),
      t,
    );
  }
  await assert.rejects(applyTransform('crop+nope', img, new Rng(0)), /unknown transform 'nope'/);
});
