import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadModel } from '../../src/model/weights.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { setup } from '../helpers.js';
import { preprocessImage } from '../../src/runtime/preprocess.js';
import { saveTestModel, writeImages } from './fixtures.js';

before(setup);

test('a library ingested at 1/8 width is searchable at once and refine upgrades it to full width', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'refine-'));
  const { model, modelId } = loadModel(saveTestModel(join(dir, 'model')));
  const embedder = await TfjsEmbedder.create(model, modelId);
  const photos = join(dir, 'photos');
  const files = await writeImages(photos, 8, 9);
  const lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  await lib.ingest([photos], { width: '1/8' });
  assert.deepEqual(
    lib.store.embeddingSets().map((s) => [s.width, s.count]),
    [['1/8', 8]],
  );
  // random weights: widths agree only after training, so query at the stored width here
  const before = await lib.searchFile(files[3]!, { k: 1, width: '1/8', rerank: 'none' });
  assert.equal(before.results[0]!.path, files[3]);
  assert.equal(before.results[0]!.vectorWidth, 'narrower');

  const r = await lib.refine();
  assert.deepEqual([r.refined, r.total, r.failed], [8, 8, 0]);
  assert.deepEqual(
    lib.store.embeddingSets().map((s) => [s.width, s.count]),
    [
      ['1', 8],
      ['1/8', 8],
    ],
  );
  const id = lib.store.findPath(files[3]!)!.imageId;
  // the refined vector is exactly what a full-width ingest would have stored
  const [full] = await embedder.embed(
    [await preprocessImage(files[3]!, { size: 16, channels: 3 })],
    1,
  );
  const stored = lib.store.getEmbedding(id, modelId, '1')!;
  for (let i = 0; i < stored.length; i++) assert.ok(Math.abs(stored[i]! - full![i]!) < 1e-5);
  const after = await lib.searchFile(files[3]!, { k: 1 });
  assert.equal(after.results[0]!.vectorWidth, '1');
  assert.ok(after.results[0]!.score > 0.999);
  assert.equal((await lib.refine()).total, 0); // nothing left to refine
  lib.close();
  rmSync(dir, { recursive: true });
});

test('dupes groups near-identical images and leaves distinct ones alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dupes-'));
  const { model, modelId } = loadModel(saveTestModel(join(dir, 'model')));
  const embedder = await TfjsEmbedder.create(model, modelId);
  const photos = join(dir, 'photos');
  const files = await writeImages(photos, 6, 11);
  // a re-encoded copy (different bytes, same picture) is a near duplicate, not an exact one
  await sharp(files[0]!).jpeg({ quality: 90 }).toFile(join(photos, 'reencoded.jpg'));
  copyFileSync(files[1]!, join(photos, 'exact-copy.jpg'));
  const lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  await lib.ingest([photos]);
  assert.equal(lib.stats().images, 7); // the exact copy shares its image row
  const groups = lib.dupes(0.99);
  assert.equal(groups.length, 1);
  assert.deepEqual(new Set(groups[0]!.paths), new Set([files[0]!, join(photos, 'reencoded.jpg')]));
  lib.close();
  rmSync(dir, { recursive: true });
});
