/**
 * Near-duplicate dropping: a result whose cosine to a better one is >= 0.99 (the default) is left
 * out, and the response says how many were (`deduped`); `dedupe: false` keeps them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import { Searcher } from '../../src/search/searcher.js';
import { LibraryIndex } from '../../index/library-index.js';
import { normalized } from '../../index/vector-index.js';
import { IdentityEmbedder, randomVectors } from '../index/fixtures.js';

const MODEL = 'm@1';
const d = 16;

test('near-duplicates are dropped from results and counted in the response', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dedupe-'));
  const store = Store.open(join(dir, 'matsearch.db'));
  try {
    // 20 distinct vectors; the first 5 each have two near-copies (cosine > 0.999).
    const base = randomVectors(20, d, 5).map(normalized);
    const noise = randomVectors(10, d, 6);
    const copies = noise.map((n, i) => normalized(base[i % 5]!.map((x, j) => x + 0.005 * n[j]!)));
    store.transaction(() =>
      [...base, ...copies].forEach((v, i) => {
        const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
        store.putEmbedding(id, MODEL, '1', 1, v);
      }),
    );
    const index = LibraryIndex.open(store, join(dir, 'index'), MODEL, d, { log: () => {} });
    const searcher = new Searcher(store, index, new IdentityEmbedder(d, MODEL));
    try {
      const q = base[0]!;
      const r = await searcher.search(q, { k: 30 });
      assert.equal(r.results.length, 20, 'one of each near-duplicate group');
      assert.equal(r.deduped, 10);
      const all = await searcher.search(q, { k: 30, dedupe: false });
      assert.equal(all.results.length, 30);
      assert.equal(all.deduped, 0);
      // Only what would have been shown counts: k = 1 stops at the first result.
      assert.equal((await searcher.search(q, { k: 1 })).deduped, 0);
      // More like image 1: one of its two copies stands in for it, the other is dropped.
      const sim = await searcher.similar(1, { k: 30 });
      assert.equal(sim.results.length, 20);
      assert.equal(sim.deduped, 9);
    } finally {
      index.close();
    }
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
