import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store } from '../../src/store/store.js';
import { SQL } from '../../src/store/statements.js';
import { LibraryIndex, slug } from '../../index/library-index.js';
import { Rng } from '../../src/util/rng.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'store-'));
const vec = (rng: Rng, d: number) => Float32Array.from({ length: d }, () => rng.normal());

test('images, paths, duplicates and vectors', () => {
  const dir = tmp();
  const s = Store.open(join(dir, 'matsearch.db'));
  const a = s.insertImage({
    hash: 'h1',
    size: 10,
    width: 4,
    height: 4,
    format: 'png',
    status: 'ready',
  });
  s.putPath({ path: '/x/a.png', imageId: a, root: '/x', size: 10, mtimeMs: 1 });
  s.putPath({ path: '/x/copy-of-a.png', imageId: a, root: '/x', size: 10, mtimeMs: 2 }); // exact duplicate
  assert.deepEqual(s.pathsOf(a), ['/x/a.png', '/x/copy-of-a.png']);
  assert.equal(s.findImageByHash('h1')!.id, a);
  assert.throws(() => s.insertImage({ hash: 'h1', size: 1, status: 'ready' }), /UNIQUE/);
  const v = Float32Array.from([1, 2, 3]);
  s.putEmbedding(a, 'm@1', '1/8', 0.125, v);
  s.putEmbedding(a, 'm@1', '1', 1, Float32Array.from([4, 5, 6]));
  assert.deepEqual(s.getEmbedding(a, 'm@1', '1/8'), v);
  assert.deepEqual(
    [...s.widestEmbeddings('m@1', 3)].map((r) => r.width),
    ['1'],
  );
  assert.throws(() => [...s.widestEmbeddings('m@1', 4)], { code: 'E_MODEL_MISMATCH' });
  assert.deepEqual(s.embeddingSets(), [
    { modelId: 'm@1', width: '1', count: 1 },
    { modelId: 'm@1', width: '1/8', count: 1 },
  ]);
  // removing one path keeps the image; removing the last deletes it and its vectors
  assert.equal(s.removePath('/x/a.png'), null);
  assert.equal(s.removePath('/x/copy-of-a.png'), a);
  assert.equal(s.getImage(a), undefined);
  assert.equal(s.embeddingCount('m@1'), 0);
  assert.equal(s.integrityCheck(), 'ok');
  s.close();
  s.close();
  assert.throws(() => s.getImage(1), { code: 'E_NOT_OPEN' });
  // reopening keeps the schema version and data
  const s2 = Store.open(join(dir, 'matsearch.db'));
  assert.equal(s2.imageCount(), 0);
  s2.close();
  rmSync(dir, { recursive: true });
});

function fill(s: Store, n: number, d: number, rng: Rng, model = 'm@1'): Map<number, Float32Array> {
  const out = new Map<number, Float32Array>();
  s.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = s.insertImage({ hash: `h${rng.nextU32()}`, size: 1, status: 'ready' });
      const v = vec(rng, d);
      s.putEmbedding(id, model, '1', 1, v);
      out.set(id, v);
    }
  });
  return out;
}

test('every commit is fsynced (WAL, synchronous = FULL): an acknowledged write survives a power cut', () => {
  const dir = tmp();
  const s = Store.open(join(dir, 'matsearch.db'));
  // Per-connection settings: read them on the store's own (private) connection.
  const conn = (s as unknown as { conn: { pragma(p: string, o: object): unknown } }).conn;
  assert.equal(conn.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(conn.pragma('synchronous', { simple: true }), 2); // 2 = FULL
  s.close();
});

test('the index is a cache of the database: built, persisted, caught up and rebuilt', () => {
  const dir = tmp();
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const s = Store.open(join(dir, 'matsearch.db'));
  const rng = new Rng(4);
  const d = 16;
  const vecs = fill(s, 300, d, rng);
  const opts = { exactBelow: 200, log };
  const idx = LibraryIndex.open(s, join(dir, 'index'), 'm@1', d, opts);
  assert.equal(idx.kind, 'hnsw');
  assert.equal(idx.size, 300);
  const q = vec(rng, d);
  const persistedHits = idx.search(q, 10).labels;
  idx.close();

  // Reopened as saved: same answers, no rebuild.
  logs.length = 0;
  const again = LibraryIndex.open(s, join(dir, 'index'), 'm@1', d, opts);
  assert.deepEqual(again.search(q, 10).labels, persistedHits);
  assert.equal(logs.length, 0);
  again.close();

  // Rebuilt from the database (index deleted): the same results as the persisted one.
  rmSync(join(dir, 'index'), { recursive: true });
  const rebuilt = LibraryIndex.open(s, join(dir, 'index'), 'm@1', d, opts);
  assert.deepEqual(rebuilt.search(q, 10).labels, persistedHits);
  rebuilt.close();

  // Changes behind the index's back (another process): caught up at open.
  const more = fill(s, 5, d, rng);
  const gone = [...vecs.keys()].slice(0, 3);
  for (const id of gone) s.deleteImage(id);
  logs.length = 0;
  const caught = LibraryIndex.open(s, join(dir, 'index'), 'm@1', d, opts);
  assert.equal(caught.size, 302);
  for (const id of gone) assert.ok(!caught.has(id));
  for (const id of more.keys()) assert.ok(caught.has(id));
  assert.match(logs.join('\n'), /was stale: added 5, removed 3/);
  caught.close();

  // A truncated index file: detected, rebuilt, said so.
  const file = join(dir, 'index', `${slug('m@1')}.hnsw`);
  truncateSync(file, Math.floor(statSync(file).size / 3));
  logs.length = 0;
  const repaired = LibraryIndex.open(s, join(dir, 'index'), 'm@1', d, opts);
  assert.equal(repaired.size, 302);
  assert.match(logs.join('\n'), /unreadable.*rebuilding/);
  repaired.close();

  // Another model's vectors never enter this index.
  fill(s, 4, 8, rng, 'other@2');
  const mine = LibraryIndex.open(s, join(dir, 'index'), 'm@1', d, opts);
  assert.equal(mine.size, 302);
  mine.close();
  writeFileSync(join(dir, 'index', `${slug('m@1')}.sync.json`), '{"modelId":"zzz"}');
  logs.length = 0;
  LibraryIndex.open(s, join(dir, 'index'), 'm@1', d, opts).close();
  assert.match(logs.join('\n'), /another model.*rebuilding/);
  s.close();
  rmSync(dir, { recursive: true });
});

test('the roots are every distinct root, sorted, found without reading every path', () => {
  const dir = tmp();
  const s = Store.open(join(dir, 'matsearch.db'));
  assert.deepEqual(s.roots(), []);
  const rng = new Rng(3);
  const roots = ['/x', '/x/y', '/xa', '/a b', '/é', '/Z'];
  s.transaction(() => {
    for (let i = 0; i < 2000; i++) {
      const id = s.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
      const root = roots[rng.int(roots.length)]!;
      s.putPath({ path: `${root}/f${i}.png`, imageId: id, root, size: 1, mtimeMs: 1 });
    }
  });
  // The oracle: every row read, deduplicated and sorted by code unit (SQLite's BINARY order).
  const db = new Database(join(dir, 'matsearch.db'), { readonly: true });
  const all = (db.prepare('SELECT root FROM paths').all() as { root: string }[]).map((r) => r.root);
  const want = [...new Set(all)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.equal(want.length, roots.length);
  assert.deepEqual(s.roots(), want);
  const plan = (db.prepare(`EXPLAIN QUERY PLAN ${SQL.roots}`).all() as { detail: string }[]).map(
    (r) => r.detail,
  );
  assert.ok(!plan.some((d) => /^SCAN paths\b/.test(d)), `reads every path: ${plan.join('; ')}`);
  db.close();
  s.close();
  rmSync(dir, { recursive: true });
});
