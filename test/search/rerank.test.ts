/**
 * The rerank against an oracle: with a shortlist as large as the library, the two-stage result
 * must be the exact top-k by cosine between the full-width query and each image's widest stored
 * vector (full width where refined), whichever engine and thread serve the coarse stage, and
 * whether the vectors come from the index's memory or from the database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import { Searcher } from '../../src/search/searcher.js';
import { LibraryIndex, slug, type LibraryIndexOptions } from '../../index/library-index.js';
import { normalized } from '../../index/vector-index.js';
import { IdentityEmbedder, randomVectors } from '../index/fixtures.js';

const MODEL = 'm@1';
const d = 16;
const N = 400;
const NARROW = 50; // the last 50 images have only a 1/4-width vector

interface Library {
  dir: string;
  store: Store;
  /** Per image id, its widest vector and that vector's width. */
  widest: Map<number, { v: Float32Array; width: string }>;
}

function library(): Library {
  const dir = mkdtempSync(join(tmpdir(), 'rerank-'));
  const store = Store.open(join(dir, 'matsearch.db'));
  const full = randomVectors(N, d, 41).map(normalized);
  const quarter = randomVectors(N, d, 42).map(normalized);
  const widest = new Map<number, { v: Float32Array; width: string }>();
  store.transaction(() =>
    full.forEach((v, i) => {
      const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
      // Every image has a 1/4 vector; all but the last NARROW were refined to full width.
      store.putEmbedding(id, MODEL, '1/4', 0.25, quarter[i]!);
      if (i < N - NARROW) store.putEmbedding(id, MODEL, '1', 1, v);
      widest.set(id, i < N - NARROW ? { v, width: '1' } : { v: quarter[i]!, width: 'narrower' });
    }),
  );
  return { dir, store, widest };
}

/** Exact top-k of cos(query, widest stored vector) over the whole library. */
function oracle(lib: Library, q: Float32Array, k: number) {
  const u = normalized(q);
  return [...lib.widest]
    .map(([id, w]) => ({ id, score: w.v.reduce((s, x, j) => s + x * u[j]!, 0), width: w.width }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

async function agrees(lib: Library, index: LibraryIndex, what: string) {
  const searcher = new Searcher(lib.store, index, new IdentityEmbedder(d, MODEL));
  for (const q of randomVectors(12, d, 43)) {
    const r = await searcher.search(q, { k: 10, width: '1/4', shortlist: N, dedupe: false });
    const want = oracle(lib, q, 10);
    assert.deepEqual(
      r.results.map((h) => h.id),
      want.map((w) => w.id),
      what,
    );
    r.results.forEach((h, i) => {
      assert.ok(Math.abs(h.score - want[i]!.score) < 1e-5, `${what}: score ${h.score}`);
      assert.equal(h.vectorWidth, want[i]!.width, what);
    });
  }
}

/** How many vectors the rerank read from the database during one search. */
async function dbReads(lib: Library, index: LibraryIndex, q: Float32Array): Promise<number> {
  let reads = 0;
  const get = lib.store.getEmbedding.bind(lib.store);
  const getMany = lib.store.embeddingsOf.bind(lib.store);
  lib.store.getEmbedding = (...a) => (reads++, get(...a));
  lib.store.embeddingsOf = (ids, ...a) => ((reads += ids.length), getMany(ids, ...a));
  try {
    const searcher = new Searcher(lib.store, index, new IdentityEmbedder(d, MODEL));
    await searcher.search(q, { k: 10, shortlist: 100, dedupe: false });
  } finally {
    lib.store.getEmbedding = get;
    lib.store.embeddingsOf = getMany;
  }
  return reads;
}

const setups: [string, LibraryIndexOptions][] = [
  ['exact', { exactBelow: 10_000 }],
  ['hnswlib', { exactBelow: 100, engine: 'hnswlib' }],
  ['hnswlib in a worker', { exactBelow: 100, engine: 'hnswlib', thread: 'worker' }],
  ['usearch (vectors from the database)', { exactBelow: 100, engine: 'usearch' }],
];

for (const [name, opts] of setups) {
  test(`rerank of ${name} equals the exact top-k over the widest vectors`, async () => {
    const lib = library();
    const open = () =>
      LibraryIndex.open(lib.store, join(lib.dir, 'index'), MODEL, d, { ...opts, log: () => {} });
    let index = open();
    await agrees(lib, index, 'built');

    // In-memory vectors spare the database: only the narrow hits (or every hit, for usearch).
    const q = randomVectors(1, d, 44)[0]!;
    const reads = await dbReads(lib, index, q);
    const narrowHits = (await index.searchAsync(q, 100)).labels.filter(
      (l) => lib.widest.get(l)!.width !== '1',
    ).length;
    assert.equal(reads, opts.engine === 'usearch' ? 100 : narrowHits, 'database reads');

    // Reopened from its files: which images are narrow was saved with it.
    index.close();
    index = open();
    await agrees(lib, index, 'reopened');
    index.close();

    // An index saved before widths were recorded: the database says which images are narrow.
    const syncFile = join(lib.dir, 'index', `${slug(MODEL)}.sync.json`);
    const sync = JSON.parse(readFileSync(syncFile, 'utf8')) as Record<string, unknown>;
    delete sync['narrow'];
    writeFileSync(syncFile, JSON.stringify(sync));
    index = open();
    await agrees(lib, index, 'old sync file');

    // A narrower vector written later (an ingest at 1/4) never displaces a full-width one...
    const ids = [...lib.widest.keys()];
    const refined = ids[0]!;
    const stray = normalized(randomVectors(1, d, 45)[0]!);
    lib.store.putEmbedding(refined, MODEL, '1/4', 0.25, stray);
    index.add(refined, stray, '1/4', 0.25);
    await agrees(lib, index, 'after a narrower write');
    const top = await index.searchAsync(lib.widest.get(refined)!.v, 1);
    assert.deepEqual(top.labels, [refined], 'the index still holds the full-width vector');
    assert.ok(Math.abs(top.scores[0]! - 1) < 1e-5);
    if (opts.engine !== 'usearch')
      assert.ok((await index.fullVectors([refined]))[0], 'and gives it to the rerank');
    // ...and refining a narrow image to full width makes the index hold (and rerank with) it.
    const narrow = ids[N - 1]!;
    const fullV = normalized(randomVectors(1, d, 46)[0]!);
    lib.store.putEmbedding(narrow, MODEL, '1', 1, fullV);
    index.add(narrow, fullV, '1', 1);
    lib.widest.set(narrow, { v: fullV, width: '1' });
    await agrees(lib, index, 'after refining');
    const got = await new Searcher(lib.store, index, new IdentityEmbedder(d, MODEL)).search(fullV, {
      k: 1,
      shortlist: N,
    });
    assert.equal(got.results[0]!.id, narrow);
    assert.equal(got.results[0]!.vectorWidth, '1');

    // An image deleted between the coarse stage and the rerank is never returned, whether the
    // index has dropped it yet or not.
    for (const dropFromIndex of [true, false]) {
      const victim = [...lib.widest.keys()][1 + Number(dropFromIndex)]!;
      const searchWithVectors = index.searchWithVectors.bind(index);
      index.searchWithVectors = async (...a) => {
        const found = await searchWithVectors(...a);
        lib.store.deleteImage(victim);
        if (dropFromIndex) index.remove(victim);
        return found;
      };
      const q = lib.widest.get(victim)!.v;
      const r = await new Searcher(lib.store, index, new IdentityEmbedder(d, MODEL)).search(q, {
        k: 5,
        shortlist: 50,
        dedupe: false,
      });
      index.searchWithVectors = searchWithVectors;
      assert.ok(
        !r.results.some((h) => h.id === victim),
        `deleted image returned (${dropFromIndex})`,
      );
      assert.equal(r.results.length, 5);
      lib.widest.delete(victim);
    }

    index.close();
    lib.store.close();
    rmSync(lib.dir, { recursive: true });
  });
}
