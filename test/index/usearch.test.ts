import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BruteForceIndex } from '../../index/brute-force.js';
import { LibraryIndex, slug } from '../../index/library-index.js';
import { Store } from '../../src/store/store.js';
import { UsearchIndex } from '../../index/usearch.js';
import { randomVectors, recallAt10 } from './fixtures.js';

test('usearch recall@10 against exact search on 20k random unit vectors is at least 0.98', () => {
  const d = 128;
  const data = randomVectors(20_000, d, 1);
  const us = UsearchIndex.create(d); // the defaults the engine uses
  const exact = new BruteForceIndex(d);
  data.forEach((v, i) => {
    us.add(i, v);
    exact.add(i, v);
  });
  assert.equal(us.size, 20_000);
  const queries = randomVectors(200, d, 2);
  const recall = recallAt10(us, exact, queries);
  assert.ok(recall >= 0.98, `recall@10 ${recall}`);
  // Scores are cosines, like the exact index's.
  const q = queries[0]!;
  const a = us.search(q, 1);
  const e = exact.search(q, 1);
  if (a.labels[0] === e.labels[0]) assert.ok(Math.abs(a.scores[0]! - e.scores[0]!) < 1e-4);
  us.close();
  exact.close();
});

test('usearch f16 and i8 quantisation keep recall on 3k vectors', () => {
  const d = 64;
  const data = randomVectors(3_000, d, 5);
  const exact = new BruteForceIndex(d);
  data.forEach((v, i) => exact.add(i, v));
  for (const quantization of ['f16', 'i8'] as const) {
    const us = UsearchIndex.create(d, { quantization });
    data.forEach((v, i) => us.add(i, v));
    const recall = recallAt10(us, exact, randomVectors(50, d, 6));
    assert.ok(recall >= (quantization === 'f16' ? 0.95 : 0.85), `${quantization}: ${recall}`);
    // A stored vector finds itself with a cosine near 1 despite the coarser storage.
    const self = us.search(data[42]!, 1);
    assert.equal(self.labels[0], 42);
    assert.ok(Math.abs(self.scores[0]! - 1) < 0.02, `${quantization}: ${self.scores[0]}`);
    us.close();
  }
  exact.close();
});

test('usearch b1 (sign bits): the shortlist holds the exact top 10; scores estimate the cosine', () => {
  const d = 128;
  // Clustered, like real embeddings: near neighbours share most sign bits.
  const centres = randomVectors(40, d, 7);
  const noise = randomVectors(4_000, d, 8);
  const data = noise.map((n, i) => centres[i % 40]!.map((c, j) => c + 0.5 * n[j]!));
  const exact = new BruteForceIndex(d);
  const us = UsearchIndex.create(d, { quantization: 'b1' });
  data.forEach((v, i) => {
    exact.add(i, v);
    us.add(i, v);
  });
  let hits = 0;
  const queries = data.slice(0, 50).map((v, i) => v.map((x, j) => x + 0.2 * noise[i + 100]![j]!));
  for (const q of queries) {
    const truth = new Set(exact.search(q, 10).labels);
    hits += us.search(q, 200).labels.filter((l) => truth.has(l)).length;
  }
  assert.ok(hits / 500 >= 0.9, `top 10 in the b1 shortlist of 200: ${hits / 500}`);
  // A stored vector finds itself at Hamming distance 0, i.e. an estimated cosine of 1.
  const self = us.search(data[42]!, 1);
  assert.equal(self.labels[0], 42);
  assert.equal(self.scores[0], 1);
  // Saved and loaded, it is still binary.
  const dir = mkdtempSync(join(tmpdir(), 'usearch-b1-'));
  us.save(join(dir, 'i.usearch'));
  const back = UsearchIndex.load(join(dir, 'i.usearch'));
  assert.equal(back.params.quantization, 'b1');
  assert.deepEqual(back.search(data[42]!, 1).labels, [42]);
  const f32 = UsearchIndex.create(d);
  data.forEach((v, i) => f32.add(i, v));
  f32.save(join(dir, 'f.usearch'));
  const [b1Size, f32Size] = ['i', 'f'].map((f) => statSync(join(dir, `${f}.usearch`)).size);
  assert.ok(b1Size! < 0.7 * f32Size!, `b1 file ${b1Size} B, f32 ${f32Size} B`);
  f32.close();
  back.close();
  us.close();
  exact.close();
  rmSync(dir, { recursive: true });
});

test('usearch: add, replace, remove, reuse, filter, save and load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usearch-'));
  const d = 8;
  const vecs = randomVectors(50, d, 3);
  const idx = UsearchIndex.create(d, { connectivity: 8, expansionAdd: 32, expansionSearch: 64 });
  vecs.forEach((v, i) => idx.add(i + 100, v)); // grows past usearch's first reservation
  assert.equal(idx.size, 50);
  assert.deepEqual(idx.search(vecs[7]!, 1).labels, [107]);
  assert.ok(Math.abs(idx.search(vecs[7]!, 1).scores[0]! - 1) < 1e-5);

  // replace: label 107 now holds vector 8's direction, and its old one is gone
  idx.add(107, vecs[8]!);
  assert.equal(idx.size, 50);
  assert.deepEqual(new Set(idx.search(vecs[8]!, 2).labels), new Set([107, 108]));
  assert.notEqual(idx.search(vecs[7]!, 1).labels[0], 107);

  // remove, then reuse
  assert.equal(idx.remove(108), true);
  assert.equal(idx.remove(108), false);
  assert.equal(idx.has(108), false);
  assert.equal(idx.size, 49);
  assert.ok(!idx.search(vecs[8]!, 49).labels.includes(108));
  assert.equal(idx.search(vecs[8]!, 100).labels.length, 49); // k past the size: every live one
  idx.add(999, vecs[20]!);
  idx.add(108, vecs[30]!); // a removed label comes back with a new vector
  assert.equal(idx.size, 51);
  assert.ok(idx.search(vecs[30]!, 2).labels.includes(108));
  assert.deepEqual(
    new Set(idx.labels()),
    new Set([...vecs.keys()].map((i) => i + 100).concat(999)),
  );

  // filter: over-fetches until k labels pass, even when few do
  const even = idx.search(vecs[5]!, 10, (l) => l % 2 === 0);
  assert.equal(even.labels.length, 10);
  assert.ok(even.labels.every((l) => l % 2 === 0));
  const rare = idx.search(vecs[5]!, 3, (l) => l === 149 || l === 999);
  assert.deepEqual(new Set(rare.labels), new Set([149, 999]));
  assert.deepEqual(idx.search(vecs[5]!, 3, () => false).labels, []);

  // save and load: the same labels and the same answers
  const file = join(dir, 'i.usearch');
  idx.save(file);
  const loaded = UsearchIndex.load(file);
  assert.equal(loaded.size, idx.size);
  assert.deepEqual(loaded.params, idx.params);
  assert.deepEqual(loaded.labels().sort(), idx.labels().sort());
  for (const q of [...vecs.slice(0, 10), ...randomVectors(10, d, 9)]) {
    assert.deepEqual(loaded.search(q, 5), idx.search(q, 5));
  }
  // a loaded index keeps working: replace and remove
  loaded.add(100, vecs[40]!);
  assert.equal(loaded.remove(101), true);
  assert.equal(loaded.size, 50);

  // close: idempotent, then every use throws the typed error
  idx.close();
  idx.close();
  assert.throws(() => idx.search(vecs[0]!, 1), { code: 'E_NOT_OPEN' });
  assert.throws(() => idx.add(1, vecs[0]!), { code: 'E_NOT_OPEN' });
  assert.throws(() => idx.has(1), { code: 'E_NOT_OPEN' });
  assert.throws(() => idx.save(file), { code: 'E_NOT_OPEN' });
  loaded.close();

  // corrupt or missing parts are refused with a typed error (the library then rebuilds)
  truncateSync(file, Math.floor(statSync(file).size / 2));
  assert.throws(() => UsearchIndex.load(file), { code: 'E_WEIGHTS_FORMAT' });
  writeFileSync(`${file}.json`, '{');
  assert.throws(() => UsearchIndex.load(file), { code: 'E_WEIGHTS_FORMAT' });
  assert.throws(() => UsearchIndex.load(join(dir, 'nothing')), { code: 'E_WEIGHTS_FORMAT' });
  rmSync(dir, { recursive: true });
});

test('usearch: wrong dimensions, labels and parameters are refused with typed errors', () => {
  const idx = UsearchIndex.create(8);
  assert.throws(() => idx.add(1, new Float32Array(3)), { code: 'E_SHAPE' });
  assert.throws(() => idx.search(new Float32Array(9), 1), { code: 'E_SHAPE' });
  assert.throws(() => idx.add(-1, new Float32Array(8).fill(1)), { code: 'E_VALIDATION' });
  assert.throws(() => idx.add(1.5, new Float32Array(8).fill(1)), { code: 'E_VALIDATION' });
  assert.equal(idx.size, 0);
  assert.deepEqual(idx.search(new Float32Array(8).fill(1), 5), { labels: [], scores: [] });
  idx.close();
  assert.throws(() => UsearchIndex.create(0), { code: 'E_VALIDATION' });
  assert.throws(() => UsearchIndex.create(8, { connectivity: 1 }), { code: 'E_VALIDATION' });
  assert.throws(
    () => UsearchIndex.create(8, { quantization: 'f64' as 'f32' }),
    /quantization must be one of f32, f16, i8, b1/,
  );
});

test('a library index uses usearch when asked, and switching engines rebuilds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usearch-lib-'));
  const d = 16;
  const store = Store.open(join(dir, 'matsearch.db'));
  const vecs = randomVectors(300, d, 7);
  store.transaction(() =>
    vecs.forEach((v, i) => {
      const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
      store.putEmbedding(id, 'm@1', '1', 1, v);
    }),
  );
  const logs: string[] = [];
  const at = (engine: 'hnswlib' | 'usearch') =>
    LibraryIndex.open(store, join(dir, 'index'), 'm@1', d, {
      exactBelow: 100,
      engine,
      log: (m) => logs.push(m),
    });
  const base = join(dir, 'index', slug('m@1'));
  const hn = at('hnswlib');
  assert.equal(hn.kind, 'hnsw');
  hn.close();
  assert.ok(existsSync(`${base}.hnsw`));

  const us = at('usearch');
  assert.equal(us.kind, 'usearch');
  assert.equal(us.size, 300);
  assert.match(logs.join('\n'), /is hnsw, the library now uses usearch: rebuilding/);
  assert.deepEqual(us.search(vecs[9]!, 1).labels, [10]); // image ids start at 1
  // the other engine's files (index and sidecars) are gone
  for (const ext of ['.hnsw', '.hnsw.json', '.hnsw.labels']) assert.ok(!existsSync(base + ext));
  us.close();

  // Reopened with the same engine: loaded as saved, no rebuild.
  logs.length = 0;
  const again = at('usearch');
  assert.equal(again.kind, 'usearch');
  assert.deepEqual(logs, []);
  assert.deepEqual(again.search(vecs[9]!, 1).labels, [10]);
  again.close();
  assert.throws(
    () => LibraryIndex.open(store, join(dir, 'index'), 'm@1', d, { engine: 'faiss' as 'usearch' }),
    { code: 'E_VALIDATION' },
  );
  store.close();
  rmSync(dir, { recursive: true });
});
