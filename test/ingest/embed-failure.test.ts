/**
 * An encoder that fails while later files are still being decoded: ingest rejects with its
 * error, records the job as failed, and keeps only the batches written before the failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { writeImages } from './fixtures.js';

/** Answers the first batch, then fails the second at once (while the next files decode). */
class FailingEmbedder implements Embedder {
  readonly modelId = 'failing@test';
  readonly dim = 4;
  readonly inputSize = 8;
  readonly inputChannels = 3;
  private calls = 0;
  widthLabel(): string {
    return '1';
  }
  widthRank(): number {
    return 1;
  }
  async embed(inputs: readonly Float32Array[]): Promise<Float32Array[]> {
    await new Promise((r) => setImmediate(r));
    if (++this.calls === 2) throw new Error('encoder worker died');
    return inputs.map(() => Float32Array.of(1, 0, 0, 0));
  }
  async close() {}
}

test('an encoder failure mid-run rejects the ingest and marks the job failed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'embed-fail-'));
  const photos = join(dir, 'photos');
  await writeImages(photos, 40);
  const lib = Library.open(join(dir, 'lib'), { embedder: new FailingEmbedder(), log: () => {} });
  try {
    await assert.rejects(lib.ingest([photos], { batch: 4, concurrency: 2 }), /encoder worker died/);
    const job = lib.store.getJob(1)!;
    assert.equal(job.state, 'failed');
    assert.match(job.message ?? '', /encoder worker died/);
    assert.equal(lib.stats().images, 4); // the first batch only
  } finally {
    lib.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
