/**
 * A small query image (its work image the file itself, unscaled, 8-bit sRGB or grey) is made
 * into the model input by one libvips pipeline instead of ingest's two (decode to 8-bit sRGB on
 * white, then resize). The oracle is ingest's own path on the same bytes: the query's input
 * must be the very input the library image was embedded from, byte for byte, or a library
 * image searched for would not find itself first. Files the one-step path must not take
 * (16-bit, an ICC profile, turned by EXIF: one pipeline resizes before it turns, and rounds
 * otherwise; a JPEG the resize halves, and any WebP, which one pipeline would scale on load) are
 * checked to take the two steps. Each file is tried at a 64 and a 16 px model input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  decodeBytes,
  decodeInput,
  directInput,
  workBox,
  DECODE_DEFAULTS,
} from '../../ingest/decode.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Pixels with detail in every channel (a resize of them is not trivially exact). */
function pixels(w: number, h: number, c: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * c);
  for (let i = 0; i < b.length; i++) b[i] = ((i + seed) * 2654435761) >>> 24;
  return b;
}

/** A JPEG without its ICC profile segments (APP2 "ICC_PROFILE"), its EXIF kept. */
function withoutIcc(jpeg: Buffer): Buffer {
  const parts: Buffer[] = [jpeg.subarray(0, 2)];
  let at = 2;
  while (at < jpeg.length && jpeg[at] === 0xff && jpeg[at + 1]! >= 0xe0 && jpeg[at + 1]! <= 0xef) {
    const end = at + 2 + jpeg.readUInt16BE(at + 2);
    const icc = jpeg[at + 1] === 0xe2 && jpeg.toString('latin1', at + 4, at + 15) === 'ICC_PROFILE';
    if (!icc) parts.push(jpeg.subarray(at, end));
    at = end;
  }
  parts.push(jpeg.subarray(at));
  return Buffer.concat(parts);
}

const raw = (w: number, h: number, c: 1 | 2 | 3 | 4, seed = 1) =>
  sharp(pixels(w, h, c, seed), { raw: { width: w, height: h, channels: c } });

/** What a case is, its bytes, and whether it takes the one-step path (at both sizes, or only at 64). */
async function cases(): Promise<[string, Buffer, boolean | 'at 64'][]> {
  const emoji = join(ROOT, 'samples', 'twemoji');
  const sample = readdirSync(emoji).find((f) => f.endsWith('.png'))!;
  return [
    ['a shipped emoji (RGBA PNG)', readFileSync(join(emoji, sample)), true],
    ['RGBA PNG, 64x64', await raw(64, 64, 4).png().toBuffer(), true],
    ['RGB PNG, 100x60', await raw(100, 60, 3).png().toBuffer(), true],
    ['grey PNG, 50x80', await raw(50, 80, 1).png().toBuffer(), true],
    ['grey + alpha PNG, 40x40', await raw(40, 40, 2).png().toBuffer(), true],
    ['palette PNG, 64x64', await raw(64, 64, 3).png({ palette: true }).toBuffer(), true],
    ['JPEG, 120x90', await raw(120, 90, 3).jpeg({ quality: 90 }).toBuffer(), 'at 64'],
    [
      'JPEG turned by EXIF (6), 90x120',
      withoutIcc(await raw(90, 120, 3).withMetadata({ orientation: 6 }).jpeg().toBuffer()),
      false,
    ],
    ['WebP with alpha, 64x48', await raw(64, 48, 4).webp({ quality: 90 }).toBuffer(), false],
    ['GIF, 64x64', await raw(64, 64, 3).gif().toBuffer(), true],
    ['a strip, 200x12 (its centre is cut)', await raw(200, 12, 3).png().toBuffer(), true],
    ['16-bit PNG', await raw(48, 48, 3).toColourspace('rgb16').png().toBuffer(), false],
    [
      'JPEG with an ICC profile',
      await raw(80, 60, 3).withIccProfile('p3').jpeg().toBuffer(),
      false,
    ],
    ['a 12 MP-like large JPEG (scaled on load)', await raw(1200, 900, 3).jpeg().toBuffer(), false],
    // At the small model's 16 px this JPEG halves: one step would shrink it on load.
    ['JPEG, 52x62', await raw(52, 62, 3, 5).jpeg({ quality: 95 }).toBuffer(), 'at 64'],
    ['WebP, 45x27', await raw(45, 27, 3, 6).webp().toBuffer(), false],
    // A WebP scales on load at any reduction; a JPEG only from half.
    ['WebP, 96x96', await raw(96, 96, 3, 7).webp({ quality: 90 }).toBuffer(), false],
    ['JPEG, 127x90', await raw(127, 90, 3, 8).jpeg({ quality: 90 }).toBuffer(), 'at 64'],
  ];
}

test("a query's model input is byte for byte the one ingest embeds, in one step where it may", async () => {
  let direct = 0;
  for (const [what, bytes, path] of await cases())
    for (const inputSize of [64, 16]) {
      const o = { ...DECODE_DEFAULTS, inputSize, inputChannels: 3 };
      const oneStep = path === 'at 64' ? inputSize === 64 : path;
      const meta = await sharp(bytes).metadata();
      if (what.includes('EXIF')) assert.deepEqual([meta.orientation, meta.hasProfile], [6, false]);
      const swap = (meta.orientation ?? 1) >= 5;
      const source = swap
        ? { width: meta.height!, height: meta.width! }
        : { width: meta.width!, height: meta.height! };
      assert.equal(
        directInput(meta, workBox(meta, o), source, o),
        oneStep,
        `${what} at ${inputSize}: path`,
      );
      if (oneStep) direct++;
      const ingested = (await decodeBytes(bytes, o)).input;
      const query = await decodeInput(bytes, o);
      assert.equal(query.length, inputSize * inputSize * 3);
      assert.deepEqual(
        query,
        ingested,
        `${what} at ${inputSize}: the query's input differs from ingest's`,
      );
    }
  assert.ok(direct >= 16, 'the one-step path was hardly tried');
});
