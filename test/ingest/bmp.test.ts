/**
 * BMP decoding (ingest/bmp.ts) against files ImageMagick wrote (test/ingest/bmp/make.sh), with
 * ImageMagick's own reading of each, saved as PNG, as the oracle; then the whole decode path: the
 * pixel cap from the header, the decoder-process pool, and the same model input as the PNG.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { bmpHeader, decodeBmp } from '../../ingest/bmp.js';
import { DECODE_DEFAULTS, decodeBytes, DecodeError } from '../../ingest/decode.js';
import { decodePool } from '../../ingest/decode-pool.js';

const dir = fileURLToPath(new URL('../../../test/ingest/bmp/', import.meta.url));
const read = (name: string) => readFileSync(dir + name);
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.bmp'))
  .sort();

async function oracle(name: string) {
  const { data, info } = await sharp(read(name.replace(/\.bmp$/, '.png')))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Largest difference per channel; colour only where the oracle pixel is not transparent. */
function maxDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i += 4)
    for (let c = 0; c < 4; c++)
      if (c === 3 || b[i + 3]! > 0) worst = Math.max(worst, Math.abs(a[i + c]! - b[i + c]!));
  return worst;
}

/** The same image stored top-down: rows in reverse order and the height negated. */
function topDown(bmp: Buffer): Buffer {
  const h = bmpHeader(bmp);
  const stride = Math.ceil((h.width * h.bitCount) / 32) * 4;
  const out = Buffer.from(bmp);
  for (let y = 0; y < h.height; y++)
    bmp.copy(
      out,
      h.dataOffset + y * stride,
      h.dataOffset + (h.height - 1 - y) * stride,
      h.dataOffset + (h.height - y) * stride,
    );
  out.writeInt32LE(-h.height, 22);
  return out;
}

test('the fixtures cover every variant the decoder claims', () => {
  const kinds = fixtures.map((f) => {
    const h = bmpHeader(read(f));
    return `${h.bitCount}/${h.compression}`;
  });
  for (const k of ['1/0', '4/0', '8/0', '8/1', '16/3', '24/0', '32/0', '32/3'])
    assert.ok(kinds.includes(k), `no fixture with bits/compression ${k}`);
  assert.ok(fixtures.length >= 12);
});

for (const name of fixtures) {
  test(`${name} decodes to what ImageMagick reads`, async () => {
    const want = await oracle(name);
    const got = decodeBmp(read(name));
    assert.deepEqual([got.width, got.height], [want.width, want.height]);
    // Exact for 8-bit channels. ImageMagick 6 widens an n-bit field by shifting (4 bits: 15 ->
    // 240, even for an opaque alpha), this decoder by scaling (15 -> 255): under 2^(8-n) apart.
    const h = bmpHeader(read(name));
    const bits = Math.min(
      ...h.masks.filter((m) => m !== 0).map((m) => m.toString(2).replaceAll('0', '').length),
    );
    const tolerance = h.bitCount === 16 ? 2 ** (8 - bits) : 0;
    assert.ok(maxDiff(got.data, want.data) <= tolerance, `${name}: off by more than ${tolerance}`);
  });
}

test('top-down rows (negative height) decode the same', async () => {
  for (const name of ['rgb24.bmp', 'pal4.bmp', 'argb32.bmp']) {
    const flipped = topDown(read(name));
    assert.equal(bmpHeader(flipped).topDown, true);
    assert.equal(maxDiff(decodeBmp(flipped).data, (await oracle(name)).data), 0, name);
  }
});

test('broken and unsupported files fail with a DecodeError that says why', () => {
  const good = read('rgb24.bmp');
  assert.throws(() => decodeBmp(good.subarray(0, good.length - 10)), /truncated pixel data/);
  const rle4 = Buffer.from(read('pal4.bmp'));
  rle4.writeUInt32LE(2, 30);
  assert.throws(
    () => decodeBmp(rle4),
    (e) => e instanceof DecodeError && /RLE4/.test(e.message),
  );
  const rle = read('pal8-rle.bmp');
  assert.throws(() => decodeBmp(rle.subarray(0, rle.length - 40)), /truncated RLE8 data/);
});

test('a BMP goes through the decode path: pixel cap, decoder process, same input as its PNG', async () => {
  const o = { ...DECODE_DEFAULTS, inputSize: 16, inputChannels: 3 };
  const bmp = read('rgb24.bmp');
  await assert.rejects(
    decodeBytes(bmp, { ...o, maxPixels: 50 }),
    (e) => e instanceof DecodeError && e.limit?.kind === 'pixels' && /13x7/.test(e.message),
  );
  // libvips cannot stream a BMP, so it is decoded in a decoder process (killed at the timeout).
  let inPool = false;
  let done = false;
  const decoding = decodeBytes(bmp, o).finally(() => (done = true));
  while (!done) {
    inPool ||= decodePool.busyPids().length > 0;
    await new Promise((r) => setImmediate(r));
  }
  const img = await decoding;
  assert.ok(inPool, 'the BMP was not decoded in a decoder process');
  assert.deepEqual([img.format, img.width, img.height], ['bmp', 13, 7]);
  assert.ok(img.thumbnail.length > 0);
  const png = await decodeBytes(read('rgb24.png'), o);
  assert.deepEqual(img.input, png.input);
  decodePool.close();
});
