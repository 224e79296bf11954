/**
 * A thumbnail is the work image encoded as WebP at quality 80 by libwebp's fastest method (0): a
 * fifth of ingest's work beyond the decode was this encode at method 2. The oracle is sharp's own
 * encoding of the same pixels: a PNG already at the work size, whose decode is its pixels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeFrame } from '../../ingest/decode-frame.js';

const W = 256;
const H = 192;

test('the thumbnail is the work image in WebP at the fastest method', async () => {
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
  const webp = (effort: number) => sharp(pixels, { raw }).webp({ quality: 80, effort }).toBuffer();
  const fastest = await webp(0);
  assert.notDeepEqual(fastest, await webp(2), 'the methods give the same bytes: no oracle');
  assert.deepEqual(Buffer.from(frame.thumbnail!), fastest);
});
