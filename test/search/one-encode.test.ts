/**
 * One encode per query: a narrow query is encoded once, at its width, and its shortlist is
 * rescored exactly against the stored full-width vectors with that same vector. A full-width
 * pass happens only with `refine`, is timed on its own, and the final scores then come from the
 * full-width query vector. The oracles are brute-force cosines over the stored vectors, and the
 * embedder counts its calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import { Searcher } from '../../src/search/searcher.js';
import type { Embedder } from '../../src/embed/embedder.js';
import type { WidthSpec } from '../../src/model/nesting.js';
import { LibraryIndex } from '../../index/library-index.js';
import { normalized } from '../../index/vector-index.js';
import { randomVectors } from '../index/fixtures.js';

const MODEL = 'm@1';
const d = 16;
const N = 300;

/** Each width gives a different vector of the same input (a fixed per-width perturbation). */
class CountingEmbedder implements Embedder {
  readonly inputSize = 1;
  readonly inputChannels = 1;
  readonly modelId = MODEL;
  readonly dim = d;
  readonly calls: string[] = [];
  widthLabel(w: WidthSpec): string {
    return String(w);
  }
  widthRank(w: WidthSpec): number {
    return String(w) === '1' ? 1 : 0.25;
  }
  vectorOf(x: Float32Array, w: WidthSpec): Float32Array {
    const shift = String(w) === '1' ? 0 : 0.3;
    return normalized(x.map((v, j) => v + shift * Math.sin(j + 1)));
  }
  async embed(inputs: readonly Float32Array[], w: WidthSpec): Promise<Float32Array[]> {
    this.calls.push(String(w));
    return inputs.map((x) => this.vectorOf(x, w));
  }
  async close() {}
}

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, j) => s + x * b[j]!, 0);

test('a narrow query is encoded once and reranked exactly; refine adds one full-width pass', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'one-encode-'));
  const store = Store.open(join(dir, 'matsearch.db'));
  const vectors = randomVectors(N, d, 7).map(normalized);
  const ids = store.transaction(() =>
    vectors.map((v, i) => {
      const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
      store.putEmbedding(id, MODEL, '1', 1, v);
      return id;
    }),
  );
  const index = LibraryIndex.open(store, join(dir, 'index'), MODEL, d, {
    exactBelow: 100,
    engine: 'hnswlib',
    log: () => {},
  });
  const enc = new CountingEmbedder();
  const searcher = new Searcher(store, index, enc);
  const top = (q: Float32Array, k: number) =>
    ids
      .map((id, i) => ({ id, score: cos(q, vectors[i]!) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);

  for (const [qi, q] of randomVectors(6, d, 8).entries()) {
    const input = q;
    // Plain search at 1/4: one encode, final scores from the 1/4 vector against the stored ones.
    enc.calls.length = 0;
    const plain = await searcher.search(input, {
      k: 10,
      width: '1/4',
      shortlist: N,
      dedupe: false,
    });
    assert.deepEqual(enc.calls, ['1/4'], `query ${qi}: encodes without refine`);
    assert.equal(plain.refined, false);
    assert.equal(plain.timings.refineEncode, 0);
    assert.deepEqual(plain.widths, { query: '1/4', rerank: '1/4' });
    const want = top(enc.vectorOf(input, '1/4'), 10);
    assert.deepEqual(
      plain.results.map((h) => h.id),
      want.map((w) => w.id),
    );
    plain.results.forEach((h, i) => assert.ok(Math.abs(h.score - want[i]!.score) < 1e-5));

    // Refine on the same image: the 1/4 vector is remembered, so the one new encode is the
    // full-width pass, and the final scores are the full-width query's.
    enc.calls.length = 0;
    const refined = await searcher.search(input, {
      k: 10,
      width: '1/4',
      shortlist: N,
      dedupe: false,
      refine: true,
    });
    assert.deepEqual(enc.calls, ['1'], `query ${qi}: encodes of the refine step`);
    assert.equal(refined.refined, true);
    assert.equal(refined.timings.encode, 0, 'the cached 1/4 vector costs no encode');
    assert.ok(refined.timings.refineEncode > 0);
    assert.deepEqual(refined.widths, { query: '1/4', rerank: '1' });
    const wantFull = top(enc.vectorOf(input, '1'), 10);
    assert.deepEqual(
      refined.results.map((h) => h.id),
      wantFull.map((w) => w.id),
    );
    // The coarse scores are still the 1/4 vector's.
    for (const h of refined.results) {
      const i = ids.indexOf(h.id);
      assert.ok(Math.abs(h.coarseScore - cos(enc.vectorOf(input, '1/4'), vectors[i]!)) < 1e-4);
    }
  }

  // A fresh query with refine from the start: exactly two encodes, the query width and full.
  enc.calls.length = 0;
  const fresh = randomVectors(1, d, 9)[0]!;
  await searcher.search(fresh, { k: 5, width: '1/8', refine: true });
  assert.deepEqual(enc.calls, ['1/8', '1']);
  // Refine at width 1, or with rerank 'none', is no second pass.
  enc.calls.length = 0;
  const other = randomVectors(1, d, 10)[0]!;
  const w1 = await searcher.search(other, { k: 5, width: 1, refine: true });
  assert.deepEqual(enc.calls, ['1']);
  assert.equal(w1.refined, false);
  enc.calls.length = 0;
  const none = await searcher.search(randomVectors(1, d, 11)[0]!, {
    k: 5,
    width: '1/2',
    rerank: 'none',
    refine: true,
  });
  assert.deepEqual(enc.calls, ['1/2']);
  assert.deepEqual(none.widths, { query: '1/2', rerank: null });
  // The cache holds vectors, not results: a different image at the same width is encoded.
  enc.calls.length = 0;
  await searcher.search(randomVectors(1, d, 12)[0]!, { k: 5, width: '1/2' });
  assert.deepEqual(enc.calls, ['1/2']);

  index.close();
  store.close();
  rmSync(dir, { recursive: true });
});
