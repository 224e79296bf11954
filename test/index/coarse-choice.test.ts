/**
 * A library's coarse index is its own choice: `setCoarse` records it, the next open builds it,
 * a saved index of another scalar kind is rebuilt rather than reused, a bad choice is refused,
 * and whatever the kind, two-stage results equal the exact top-k (the rerank uses the stored
 * float vectors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../src/library.js';
import { Store } from '../../src/store/store.js';
import { slug } from '../../index/library-index.js';
import { normalized } from '../../index/vector-index.js';
import { IdentityEmbedder, randomVectors } from './fixtures.js';

const MODEL = 'm@1';
const d = 32;

test('setCoarse picks the coarse index; results stay exact after the rerank', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coarse-'));
  const store = Store.open(join(dir, 'matsearch.db'));
  const centres = randomVectors(20, d, 1);
  const vectors = randomVectors(600, d, 2).map((n, i) =>
    normalized(centres[i % 20]!.map((c, j) => c + 0.4 * n[j]!)),
  );
  store.transaction(() =>
    vectors.forEach((v, i) => {
      const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
      store.putEmbedding(id, MODEL, '1', 1, v);
    }),
  );
  store.close();
  const open = () =>
    Library.open(dir, {
      embedder: new IdentityEmbedder(d, MODEL),
      index: { exactBelow: 100 },
      log: () => {},
    });
  const queries = randomVectors(10, d, 3).map((n, i) =>
    normalized(vectors[i * 7]!.map((x, j) => x + 0.1 * n[j]!)),
  );
  const exactTop = (q: Float32Array) =>
    vectors
      .map((v, i) => ({ id: i + 1, s: v.reduce((a, x, j) => a + x * q[j]!, 0) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 5)
      .map((x) => x.id);
  const syncFile = join(dir, 'index', `${slug(MODEL)}.sync.json`);

  let lib = open();
  assert.equal(lib.coarse, 'hnswlib');
  assert.equal(lib.index.kind, 'hnsw');
  assert.throws(() => lib.setCoarse('usearch:f8'), /only usearch takes a scalar kind/);
  assert.throws(() => lib.setCoarse('faiss'), /must be hnswlib or usearch/);
  for (const spec of ['usearch:i8', 'usearch:b1', 'usearch', 'hnswlib']) {
    lib.setCoarse(spec);
    lib.close();
    lib = open();
    assert.equal(lib.coarse, spec);
    assert.equal(lib.index.kind, spec === 'hnswlib' ? 'hnsw' : 'usearch', spec);
    const sync = JSON.parse(readFileSync(syncFile, 'utf8')) as { scalar?: string };
    assert.equal(
      sync.scalar,
      spec.startsWith('usearch') ? (spec.split(':')[1] ?? 'f32') : undefined,
    );
    for (const q of queries) {
      const r = await lib.searcher.search(q, { k: 5, shortlist: 100, dedupe: false });
      assert.deepEqual(
        r.results.map((h) => h.id),
        exactTop(q),
        spec,
      );
    }
  }
  lib.close();
  rmSync(dir, { recursive: true });
});
