/**
 * A file refused by a limit (pixel cap, byte cap, decode timeout) is not a bad file: it is
 * retried once the limit is raised, as the error message advises. Out-of-range timeouts are
 * refused up front instead of failing every file.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadModel } from '../../src/model/weights.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from './fixtures.js';

let dir: string;
let embedder: Embedder;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'limits-'));
  const { model, modelId } = loadModel(saveTestModel(join(dir, 'model')));
  embedder = await TfjsEmbedder.create(model, modelId);
});

test('a pixel-cap or byte-cap failure is retried when the cap is raised, not before', async () => {
  const photos = join(dir, 'caps');
  const [img] = await writeImages(photos, 1, 4); // 24-63 px a side, a few KB
  const lib = Library.open(join(dir, 'lib-caps'), { embedder, log: () => {} });
  const s1 = await lib.ingest([photos], { decode: { maxPixels: 100 } });
  assert.equal(s1.failed, 1);
  assert.match(lib.store.findFailure(img!)!.error, /MP, over the .* MP limit/);
  // The same cap: not retried (the error stands).
  const s2 = await lib.ingest([photos], { decode: { maxPixels: 100 } });
  assert.deepEqual([s2.failed, s2.added], [1, 0]);
  // Raised: retried and added.
  const s3 = await lib.ingest([photos]);
  assert.deepEqual([s3.failed, s3.added], [0, 1]);
  assert.equal(lib.store.findFailure(img!), undefined);

  const bytes = join(dir, 'bytes');
  const [big] = await writeImages(bytes, 1, 5);
  const b1 = await lib.ingest([bytes], { decode: { maxBytes: 10 } });
  assert.equal(b1.failed, 1);
  assert.match(lib.store.findFailure(big!)!.error, /over the 10-byte limit/);
  const b2 = await lib.ingest([bytes], { decode: { maxBytes: 1 << 20 } });
  assert.deepEqual([b2.failed, b2.added], [0, 1]);
  lib.close();
});

test('a decode-timeout failure is retried with a longer timeout', async () => {
  const d = join(dir, 'slow');
  mkdirSync(d);
  // 3000 x 3000 noise: far more than 1 ms to decode and resize.
  const noise = Buffer.alloc(3000 * 3000 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  await sharp(noise, { raw: { width: 3000, height: 3000, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toFile(join(d, 'slow.png'));
  const lib = Library.open(join(dir, 'lib-slow'), { embedder, log: () => {} });
  const s1 = await lib.ingest([d], { decode: { timeoutMs: 1 } });
  assert.equal(s1.failed, 1, JSON.stringify(s1));
  assert.match(lib.store.findFailure(join(d, 'slow.png'))!.error, /decoding took over 1 ms/);
  const s2 = await lib.ingest([d], { decode: { timeoutMs: 120_000 } });
  assert.deepEqual([s2.failed, s2.added], [0, 1], JSON.stringify(s2.errors));
  lib.close();
  await new Promise((r) => setTimeout(r, 500)); // the abandoned decode finishes in the background
});

test('a decode timeout beyond what a timer can hold is refused before any file is touched', async () => {
  const photos = join(dir, 'overflow');
  await writeImages(photos, 2, 6);
  const lib = Library.open(join(dir, 'lib-overflow'), { embedder, log: () => {} });
  // 3,000,000 s (as `--decode-timeout 3000000`) overflows setTimeout's 32-bit delay to 1 ms.
  await assert.rejects(lib.ingest([photos], { decode: { timeoutMs: 3_000_000_000 } }), {
    code: 'E_VALIDATION',
    message: /decode timeout/,
  });
  await assert.rejects(lib.ingest([photos], { decode: { timeoutMs: -5 } }), {
    code: 'E_VALIDATION',
  });
  assert.equal(lib.stats().failures, 0);
  assert.equal((await lib.ingest([photos])).added, 2);
  lib.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});
