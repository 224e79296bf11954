import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/weights.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeBadImages, writeImages } from './fixtures.js';

before(setup);

async function openLib(dir: string, modelDir: string) {
  const { model, modelId } = loadModel(modelDir);
  return Library.open(join(dir, 'lib'), {
    embedder: await TfjsEmbedder.create(model, modelId),
    log: () => {},
  });
}

test('ingest: add, no-op re-run, duplicates, moves, prune, bad files, search', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-'));
  const modelDir = saveTestModel(join(dir, 'model'));
  const photos = join(dir, 'photos');
  const files = await writeImages(photos, 12);
  const bad = await writeBadImages(join(photos, 'bad'));
  const lib = await openLib(dir, modelDir);

  const first = await lib.ingest([photos]);
  assert.equal(first.added, 12);
  assert.equal(first.failed, 5);
  assert.equal(first.embedded, 12);
  const byPath = new Map(first.errors.map((e) => [e.path, e.error]));
  assert.match(byPath.get(bad['huge.png']!)!, /20000x20000 = 400\.0 MP, over the 100 MP limit/);
  assert.match(byPath.get(bad['empty.png']!)!, /empty file/);
  assert.match(byPath.get(bad['text.jpg']!)!, /not a readable image/);
  assert.ok(byPath.has(bad['truncated.png']!));
  assert.ok(byPath.has(bad['corrupt.jpg']!));
  assert.equal(lib.stats().images, 12);
  assert.equal(lib.stats().failures, 5);

  // Nothing changed: nothing is decoded or embedded again; known-bad files are not retried.
  const again = await lib.ingest([photos]);
  assert.deepEqual([again.added, again.embedded, again.unchanged, again.failed], [0, 0, 12, 5]);

  // A copy is stored once with both paths; a move keeps the vector.
  const id0 = lib.store.findPath(files[0]!)!.imageId;
  const vec0 = lib.store.getEmbedding(id0, lib.embedder.modelId, '1')!;
  copyFileSync(files[0]!, join(photos, 'copy.png'));
  renameSync(files[1]!, join(photos, 'moved.jpg'));
  const id1 = lib.store.findPath(files[1]!)!.imageId;
  const third = await lib.ingest([photos], { prune: true });
  assert.equal(third.embedded, 0);
  assert.equal(third.duplicates, 2); // the copy and the moved file: known content, new paths
  assert.equal(third.pruned, 1); // the moved file's old path
  assert.deepEqual(lib.store.pathsOf(id0).sort(), [files[0]!, join(photos, 'copy.png')].sort());
  assert.deepEqual(lib.store.pathsOf(id1), [join(photos, 'moved.jpg')]);
  assert.deepEqual(lib.store.getEmbedding(id0, lib.embedder.modelId, '1'), vec0);
  assert.equal(lib.stats().images, 12);

  // Deleted files leave with --prune, vectors, index entry and thumbnail included.
  const id2 = lib.store.findPath(files[2]!)!.imageId;
  const thumb = lib.thumbnailOf(id2)!;
  assert.ok(existsSync(thumb));
  rmSync(files[2]!);
  const fourth = await lib.ingest([photos], { prune: true });
  assert.equal(fourth.pruned, 1);
  assert.equal(lib.store.getImage(id2), undefined);
  assert.ok(!lib.index.has(id2));
  assert.ok(!existsSync(thumb));
  assert.equal(lib.stats().images, 11);

  // Searching with an ingested image finds it first, with cosine ~1. Random weights share no
  // space across widths, so the 1/2-width shortlist is refined by the full-width pass.
  const r = await lib.searchFile(files[5]!, { k: 3, width: '1/2', refine: true });
  assert.equal(r.results[0]!.id, lib.store.findPath(files[5]!)!.imageId);
  assert.ok(r.results[0]!.score > 0.999);
  assert.equal(r.widths.query, '1/2');
  assert.equal(r.widths.rerank, '1');
  const sim = await lib.similar(r.results[0]!.id, { k: 3 });
  assert.ok(!sim.results.some((h) => h.id === r.results[0]!.id));
  assert.equal(lib.store.integrityCheck(), 'ok');
  lib.close();
  rmSync(dir, { recursive: true });
});
