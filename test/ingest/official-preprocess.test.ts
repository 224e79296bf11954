/**
 * A model imported from PyTorch carries the official evaluation preprocessing, and the library
 * uses it: the vector ingest stores for an image is the model's embedding of the official crop
 * of that image (computed here by hand), not of our default short-side resize.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { importCheckpoint } from '../../src/model/import-checkpoint.js';
import { loadModel } from '../../src/model/weights.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { normalizePixels, preprocessImage } from '../../src/runtime/preprocess.js';
import { setup } from '../helpers.js';

before(setup);

const FIX = fileURLToPath(new URL('../../../test/fixtures/torch/', import.meta.url));

test('ingest and search of an imported model use its official crop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'official-pre-'));
  const { outDir } = await importCheckpoint({ src: join(FIX, 'hub'), out: join(dir, 'model') });
  const { model, modelId, preprocess } = loadModel(outDir);
  assert.equal(preprocess.mode, 'crop-resize');
  const embedder = await TfjsEmbedder.create(model, modelId, preprocess);
  // 48 x 40 px: the crop is floor(0.875 * 40) = 35 px from (6, 2), area-resized to 32 px.
  const W = 48;
  const H = 40;
  const px = new Uint8Array(W * H * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i % 3) * 91) % 256;
  mkdirSync(join(dir, 'photos'));
  const file = join(dir, 'photos', 'a.png');
  await sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(file);

  // The oracle input: the crop cut by hand, then area-resized 35 -> 32 (cropRatio 1: no
  // further crop; the area resize itself is held to hand-computed pixels in
  // test/runtime/preprocess-official.test.ts).
  const crop = new Uint8Array(35 * 35 * 3);
  for (let y = 0; y < 35; y++)
    crop.set(px.subarray(((2 + y) * W + 6) * 3, ((2 + y) * W + 6 + 35) * 3), y * 35 * 3);
  const oracle = await preprocessImage(
    { data: crop, width: 35, height: 35, channels: 3 },
    { size: 32, channels: 3, preprocess: { ...preprocess, cropRatio: 1 } },
  );
  const [want] = await embedder.embed([oracle], 1);
  const [ours] = await embedder.embed(
    [normalizePixels(new Uint8Array(32 * 32 * 3), 3)], // sanity: a different input differs
    1,
  );

  const lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  await lib.ingest([join(dir, 'photos')]);
  const id = lib.store.findPath(file)!.imageId;
  const stored = lib.store.getEmbedding(id, modelId, '1')!;
  let diff = 0;
  let other = 0;
  for (let i = 0; i < stored.length; i++) {
    diff = Math.max(diff, Math.abs(stored[i]! - want![i]!));
    other = Math.max(other, Math.abs(stored[i]! - ours![i]!));
  }
  assert.ok(diff < 1e-5, `stored vector differs from the official crop's by ${diff}`);
  assert.ok(other > 1e-2);
  const hit = await lib.searchFile(file, { k: 1 });
  assert.equal(hit.results[0]!.path, file);
  assert.ok(hit.results[0]!.score > 0.99999);
  lib.close();
  await embedder.close();
  rmSync(dir, { recursive: true });
});
