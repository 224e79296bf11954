import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  truncateSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BruteForceIndex } from '../../index/brute-force.js';
import { HnswIndex } from '../../index/hnsw.js';
import { LibraryIndex } from '../../index/library-index.js';
import { Store } from '../../src/store/store.js';
import { randomVectors, recallAt10 } from './fixtures.js';

test('HNSW recall@10 against exact search on 20k random unit vectors is at least 0.98', () => {
  const d = 128;
  const data = randomVectors(20_000, d, 1);
  const hnsw = HnswIndex.create(d, {}, 1024); // the defaults the engine uses
  const exact = new BruteForceIndex(d);
  data.forEach((v, i) => {
    hnsw.add(i, v);
    exact.add(i, v);
  });
  assert.equal(hnsw.size, 20_000);
  const recall = recallAt10(hnsw, exact, randomVectors(200, d, 2));
  assert.ok(recall >= 0.98, `recall@10 ${recall}`);
  hnsw.close();
  exact.close();
});

for (const make of [
  (d: number) => HnswIndex.create(d, {}, 4),
  (d: number) => new BruteForceIndex(d, 2),
]) {
  const kind = make(2).kind;
  test(`${kind}: add, update, delete, reuse, save and load`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    const d = 8;
    const vecs = randomVectors(50, d, 3);
    const idx = make(d);
    vecs.forEach((v, i) => idx.add(i + 100, v)); // grows past the initial capacity
    assert.equal(idx.size, 50);
    assert.deepEqual(idx.search(vecs[7]!, 1).labels, [107]);
    assert.ok(Math.abs(idx.search(vecs[7]!, 1).scores[0]! - 1) < 1e-5);
    // update: label 107 now holds vector 8's direction
    idx.add(107, vecs[8]!);
    assert.equal(idx.size, 50);
    assert.deepEqual(new Set(idx.search(vecs[8]!, 2).labels), new Set([107, 108]));
    // delete and reuse
    assert.equal(idx.remove(108), true);
    assert.equal(idx.remove(108), false);
    assert.ok(!idx.search(vecs[8]!, 5).labels.includes(108));
    idx.add(999, vecs[20]!);
    idx.add(108, vecs[30]!); // a deleted label comes back with a new vector
    assert.equal(idx.size, 51);
    assert.ok(idx.search(vecs[30]!, 2).labels.includes(108));
    // stored vectors read back: the unit-length input, in the order asked
    const back = idx.vectors!([105, 102, 12345]);
    [5, 2].forEach((i, j) => {
      const v = vecs[i]!;
      const norm = Math.hypot(...v);
      for (let c = 0; c < d; c++) assert.ok(Math.abs(back[j]![c]! - v[c]! / norm) < 1e-6);
    });
    assert.equal(back[2], undefined, 'a label not in the index has no vector');
    // filter
    assert.ok(idx.search(vecs[5]!, 10, (l) => l % 2 === 0).labels.every((l) => l % 2 === 0));
    assert.throws(() => idx.add(1, new Float32Array(3)), { code: 'E_SHAPE' });
    const file = join(dir, 'i.bin');
    idx.save(file);
    const loaded = kind === 'hnsw' ? HnswIndex.load(file) : BruteForceIndex.load(file);
    assert.deepEqual(loaded.labels().sort(), idx.labels().sort());
    for (const q of vecs.slice(0, 10))
      assert.deepEqual(loaded.search(q, 5).labels, idx.search(q, 5).labels);
    idx.close();
    idx.close();
    assert.throws(() => idx.search(vecs[0]!, 1), { code: 'E_NOT_OPEN' });
    // corrupt files are refused with a typed error (the library then rebuilds from the database)
    if (kind === 'hnsw') {
      truncateSync(file, Math.floor(statSync(file).size / 2));
      assert.throws(() => HnswIndex.load(file), { code: 'E_WEIGHTS_FORMAT' });
      writeFileSync(`${file}.json`, '{');
      assert.throws(() => HnswIndex.load(file), { code: 'E_WEIGHTS_FORMAT' });
    } else {
      truncateSync(file, 20);
      assert.throws(() => BruteForceIndex.load(file), { code: 'E_WEIGHTS_FORMAT' });
    }
    loaded.close();
    rmSync(dir, { recursive: true });
  });
}

test("index temp files of a writer killed mid-save are swept at open, not a live writer's", () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-sweep-'));
  const index = join(dir, 'index');
  mkdirSync(index);
  const dead = join(index, 'm_1.hnsw.4194999.tmp'); // above Linux's pid_max: never alive
  const live = join(index, `m_1.hnsw.json.${process.pid}.tmp`);
  const other = join(index, 'notes.tmp'); // not an index temp name: left alone
  for (const f of [dead, live, other]) writeFileSync(f, 'x');
  const store = Store.open(join(dir, 'matsearch.db'));
  LibraryIndex.open(store, index, 'm@1', 4, { log: () => {} }).close();
  assert.deepEqual([existsSync(dead), existsSync(live), existsSync(other)], [false, true, true]);
  store.close();
  rmSync(dir, { recursive: true });
});
