/** A folder that contains the library: its own thumbnails and uploads are never ingested. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/weights.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from './fixtures.js';

before(setup);

test('ingesting the folder that holds the library skips the library (also through a link)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inside-'));
  const { model, modelId } = loadModel(saveTestModel(join(dir, '.model')));
  const embedder = await TfjsEmbedder.create(model, modelId);
  await writeImages(join(dir, 'photos'), 5, 11);
  // `cd dir; matsearch ingest .` with the default ./matsearch-data
  const lib = Library.open(join(dir, 'matsearch-data'), { embedder, log: () => {} });
  const counts: number[] = [];
  for (let run = 0; run < 3; run++) {
    if (run === 2) symlinkSync(join(dir, 'matsearch-data'), join(dir, 'photos', 'lib-link'));
    const s = await lib.ingest([dir]);
    counts.push(lib.stats().images);
    assert.equal(s.failed, 0, JSON.stringify(s.errors));
  }
  // Oracle: the folder holds 5 pictures, whatever the library wrote beside them.
  assert.deepEqual(counts, [5, 5, 5]);
  for (const p of lib.store.roots()) assert.ok(!p.includes('matsearch-data'), p);
  lib.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});
