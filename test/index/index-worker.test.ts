import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import { Searcher } from '../../src/search/searcher.js';
import { createIndex, type AnnEngine } from '../../index/engines.js';
import { LibraryIndex } from '../../index/library-index.js';
import { WorkerIndex } from '../../index/index-worker.js';
import { normalized } from '../../index/vector-index.js';
import { IdentityEmbedder, randomVectors } from './fixtures.js';

const MODEL = 'm@1';

function fillStore(s: Store, vecs: Float32Array[]): number[] {
  const ids: number[] = [];
  s.transaction(() => {
    vecs.forEach((v, i) => {
      const id = s.insertImage({ hash: `h${i}-${v[0]}`, size: 1, status: 'ready' });
      s.putEmbedding(id, MODEL, '1', 1, normalized(v));
      ids.push(id);
    });
  });
  return ids;
}

for (const engine of ['hnswlib', 'usearch'] as AnnEngine[]) {
  test(`${engine}: the worker path answers exactly as the in-process path`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idxw-'));
    const d = 24;
    const store = Store.open(join(dir, 'matsearch.db'));
    const vecs = randomVectors(1500, d, 11);
    const ids = fillStore(store, vecs);
    // What each label's vector is, as written (the oracle for the vectors a search hands back).
    const truth = new Map(ids.map((id, i) => [id, normalized(vecs[i]!)]));
    const opts = { exactBelow: 500, engine, log: () => {} };
    const open = (thread: 'main' | 'worker') =>
      LibraryIndex.open(store, join(dir, thread), MODEL, d, { ...opts, thread });
    let main = open('main');
    let worker = open('worker');
    assert.equal(worker.inWorker, true);
    assert.equal(main.inWorker, false);
    assert.equal(worker.kind, main.kind);
    assert.equal(worker.size, 1500);
    const queries = randomVectors(15, d, 12);
    const same = async (what: string) => {
      for (const q of queries) {
        const expected = main.search(q, 10);
        assert.deepEqual(await worker.searchAsync(q, 10), expected, what);
        assert.deepEqual(worker.search(q, 10), expected, what);
        const odd = (l: number) => l % 2 === 1;
        assert.deepEqual(await worker.searchAsync(q, 7, odd), main.search(q, 7, odd), what);
        // The search with its hits' vectors, in one round trip: the same hits, and each vector
        // the one the database stores (none where the engine keeps no exact copy).
        const wv = await worker.searchWithVectors(q, 10);
        assert.deepEqual(wv.hits, expected, what);
        const mv = await main.searchWithVectors(q, 10);
        assert.deepEqual(wv.vectors, mv.vectors, what);
        assert.equal(wv.vectors.filter(Boolean).length, engine === 'usearch' ? 0 : 10, what);
        wv.vectors.forEach((v, i) => {
          if (!v) return;
          const written = truth.get(wv.hits.labels[i]!)!;
          assert.ok(Math.max(...v.map((x, j) => Math.abs(x - written[j]!))) < 1e-6, what);
        });
      }
    };
    await same('built');

    // Writes go through the worker in order: removals, replacements and new vectors.
    const extra = randomVectors(40, d, 13);
    for (const li of [main, worker]) {
      for (const id of ids.slice(0, 30)) li.remove(id);
      extra.forEach((v, i) => li.add(ids[100 + i]!, v)); // replace
      extra.forEach((v, i) => li.add(5000 + i, v)); // new
    }
    extra.forEach((v, i) => {
      truth.set(ids[100 + i]!, normalized(v));
      truth.set(5000 + i, normalized(v));
    });
    assert.equal(worker.size, main.size);
    assert.equal(worker.has(ids[3]!), false);
    assert.equal(worker.has(5003), true);
    await same('after writes');

    // The whole two-stage search, through Searcher.
    const embedder = new IdentityEmbedder(d, MODEL);
    const a = new Searcher(store, main, embedder);
    const b = new Searcher(store, worker, embedder);
    for (const q of queries.slice(0, 5)) {
      const o = { k: 5, width: '1/2' as const, exclude: [ids[200]!] };
      assert.deepEqual((await b.search(q, o)).results, (await a.search(q, o)).results);
    }
    assert.deepEqual((await b.similar(ids[300]!)).results, (await a.similar(ids[300]!)).results);

    // Saved by the worker, loaded by a new one: still the same answers.
    main.save();
    worker.save();
    main.close();
    worker.close();
    main = open('main');
    worker = open('worker');
    await same('reloaded');
    main.close();
    worker.close();
    store.close();
    rmSync(dir, { recursive: true });
  });
}

test('the event loop keeps ticking while a slow batch of searches runs in the worker', async () => {
  const d = 64;
  const spec = { kind: 'hnsw' as const, dim: d, capacity: 4000, hnsw: { ef: 1500 } };
  const data = randomVectors(4000, d, 21);
  const queries = randomVectors(150, d, 22);
  const w = WorkerIndex.create(spec);
  data.forEach((v, i) => w.add(i, v)); // built in the worker
  w.search(queries[0]!, 1); // waits until the build is done

  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  let ms = 0;
  // Whole batches of 150 searches, queued at once, until at least 200 ms of searching.
  while ((ms = performance.now() - t0) < 200) {
    const hits = await Promise.all(queries.map((q) => w.searchAsync(q, 200)));
    assert.ok(hits.every((h) => h.labels.length === 200));
  }
  clearInterval(timer);
  assert.ok(ticks >= 5, `${ticks} ticks in ${ms.toFixed(0)} ms`);

  // The same batch in-process: the loop is stuck for its whole length (what the worker avoids).
  const local = createIndex(spec);
  data.forEach((v, i) => local.add(i, v));
  let stuck = 0;
  const timer2 = setInterval(() => stuck++, 5);
  const t1 = performance.now();
  for (const q of queries) local.search(q, 200);
  const localMs = performance.now() - t1;
  await new Promise((r) => setImmediate(r));
  clearInterval(timer2);
  assert.ok(stuck <= 1, `${stuck} ticks during ${localMs.toFixed(0)} ms of in-process searches`);
  local.close();
  w.close();
});

test('closing terminates the worker; later use throws, pending searches reject', async () => {
  const d = 8;
  const w = WorkerIndex.create({ kind: 'usearch', dim: d, capacity: 100 });
  randomVectors(100, d, 31).forEach((v, i) => w.add(i, v));
  const q = randomVectors(1, d, 32)[0]!;
  assert.equal(w.search(q, 3).labels.length, 3);
  assert.throws(() => w.add(1, new Float32Array(3)), { code: 'E_SHAPE' });
  assert.throws(() => w.add(-2, q), { code: 'E_VALIDATION' });
  await assert.rejects(w.searchAsync(new Float32Array(3), 1), { code: 'E_SHAPE' });

  const inFlight = w.searchAsync(q, 3);
  let exited = false;
  void w.exited.then(() => (exited = true));
  w.close();
  w.close(); // idempotent
  await assert.rejects(inFlight, { code: 'E_NOT_OPEN' });
  await Promise.race([w.exited, new Promise((r) => setTimeout(r, 5000))]);
  assert.equal(exited, true, 'the worker thread has exited');
  assert.throws(() => w.search(q, 1), { code: 'E_NOT_OPEN' });
  assert.throws(() => w.has(1), { code: 'E_NOT_OPEN' });
  await assert.rejects(w.searchAsync(q, 1), { code: 'E_NOT_OPEN' });

  // A load that fails in the worker throws its typed error here, and ends that worker.
  assert.throws(() => WorkerIndex.load('hnsw', join(tmpdir(), 'no-such-index')), {
    code: 'E_WEIGHTS_FORMAT',
  });
});
