/**
 * The ingest summary adds up: every file is counted once (added, duplicate or move, unchanged,
 * re-embedded or failed), and `embedded` counts the vectors written, also when two files with the
 * same content are decoded side by side, and when a library is re-embedded with another model.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../src/library.js';
import type { IngestSummary } from '../../ingest/pipeline.js';
import { setup } from '../helpers.js';
import { loadEmbedder } from '../reliability/helpers.js';
import { saveTestModel, writeImages } from './fixtures.js';

before(setup);

const openLib = async (dir: string, modelDir: string) =>
  Library.open(join(dir, 'lib'), { embedder: await loadEmbedder(modelDir), log: () => {} });

function assertAddsUp(s: IngestSummary) {
  const { added, duplicates, unchanged, reembedded, failed } = s;
  assert.equal(
    added + duplicates + unchanged + reembedded + failed,
    s.files,
    `${JSON.stringify(s)} does not add up`,
  );
}

test('ingest summary: the counts add up and embedded counts vectors written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-counts-'));
  try {
    const photos = join(dir, 'photos');
    const files = await writeImages(photos, 5, 17);
    // A copy walked with its original: both are read and decoded before either is written.
    copyFileSync(files[2]!, join(photos, 'img-002-copy.webp'));

    const a = await openLib(dir, saveTestModel(join(dir, 'model-a')));
    const first = await a.ingest([photos]);
    assertAddsUp(first);
    assert.deepEqual(
      [first.files, first.added, first.duplicates, first.embedded],
      [6, 5, 1, 5],
      JSON.stringify(first),
    );
    assert.equal(a.store.embeddingCount(a.embedder.modelId), first.embedded);
    a.close();

    // Another model: every image gets a vector of it; nothing is added or moved.
    const b = await openLib(
      dir,
      saveTestModel(join(dir, 'model-b'), { seed: 8, name: 'other-encoder' }),
    );
    const second = await b.ingest([photos]);
    assertAddsUp(second);
    assert.deepEqual(
      [second.added, second.duplicates, second.embedded],
      [0, 0, 5],
      JSON.stringify(second),
    );
    assert.equal(b.store.embeddingCount(b.embedder.modelId), second.embedded);
    const again = await b.ingest([photos]);
    assertAddsUp(again);
    assert.deepEqual([again.unchanged, again.embedded], [6, 0]);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
