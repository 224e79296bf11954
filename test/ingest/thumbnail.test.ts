/**
 * A thumbnail is the work image encoded as baseline JPEG at quality 80: as small as WebP at
 * libwebp's fastest method for half its CPU. The oracle is sharp's own encoding of the same
 * pixels: a PNG already at the work size, whose decode is its pixels. A library made by an
 * earlier version keeps its WebP thumbnails: they are found, served as WebP and removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { decodeFrame } from '../../ingest/decode-frame.js';
import {
  findThumbnail,
  thumbnailMime,
  thumbnailPath,
  thumbnailPaths,
} from '../../ingest/thumbs.js';

const W = 256;
const H = 192;

test('the thumbnail is the work image as a quality-80 baseline JPEG', async () => {
  const pixels = Buffer.alloc(W * H * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 2654435761) >>> 24) & 0xff;
  const raw = { width: W, height: H, channels: 3 } as const;
  const png = await sharp(pixels, { raw }).png().toBuffer();
  const frame = await decodeFrame(
    png,
    {
      maxPixels: 1e8,
      timeoutMs: 0,
      thumbnailSize: W,
      inputSize: 16,
      inputChannels: 3,
      work: { width: W, height: H },
    },
    true,
  );
  const jpeg = (quality: number) => sharp(pixels, { raw }).jpeg({ quality }).toBuffer();
  const q80 = await jpeg(80);
  assert.notDeepEqual(q80, await jpeg(90), 'the qualities give the same bytes: no oracle');
  assert.deepEqual(Buffer.from(frame.thumbnail!), q80);
});

test("an earlier version's WebP thumbnail is found until a JPEG one is written", () => {
  const dir = mkdtempSync(join(tmpdir(), 'thumbs-'));
  try {
    const hash = 'ab'.repeat(32);
    const webp = join(dir, 'ab', `${hash}.webp`);
    assert.equal(findThumbnail(dir, hash), thumbnailPath(dir, hash), 'none: where ingest writes');
    assert.equal(thumbnailMime(findThumbnail(dir, hash)), 'image/jpeg');
    mkdirSync(dirname(webp), { recursive: true });
    writeFileSync(webp, 'old');
    assert.equal(findThumbnail(dir, hash), webp);
    assert.equal(thumbnailMime(webp), 'image/webp');
    assert.ok(thumbnailPaths(dir, hash).includes(webp), 'a removal deletes the WebP too');
    writeFileSync(thumbnailPath(dir, hash), 'new');
    assert.equal(findThumbnail(dir, hash), thumbnailPath(dir, hash));
    for (const p of thumbnailPaths(dir, hash)) rmSync(p);
    assert.ok(!existsSync(webp));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
