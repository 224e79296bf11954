/**
 * A library made by an older matsearch (schema 2: image ids could be reused, the index fingerprint
 * was count + id sum + latest write) opens, migrates and keeps working: its rows survive, a
 * deleted id is never handed out again, and an index saved under the old fingerprint is not
 * trusted (it may hold a deleted image's vector under a reused id).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BruteForceIndex } from '../../index/brute-force.js';
import { slug } from '../../index/library-index.js';
import { Library } from '../../src/library.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { testEmbedder } from '../reliability/helpers.js';

before(setup);

function unit(dim: number, seed: number): Float32Array {
  const v = Float32Array.from({ length: dim }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A schema-2 library: images 1..3 with paths and vectors, as the old code wrote them. */
function oldLibrary(libDir: string, modelId: string, dim: number, vectors: Float32Array[]) {
  mkdirSync(libDir, { recursive: true });
  const db = new Database(join(libDir, 'matsearch.db'));
  db.pragma('journal_mode = WAL');
  db.exec(MIGRATIONS[0]!);
  db.exec(MIGRATIONS[1]!);
  db.pragma('user_version = 2');
  const t = 1_700_000_000_000;
  vectors.forEach((v, i) => {
    const id = i + 1;
    db.prepare(
      "INSERT INTO images (id, hash, size, width, height, format, added_at, status) VALUES (?, ?, 10, 8, 8, 'png', ?, 'ready')",
    ).run(id, `hash${id}`, t);
    db.prepare(
      'INSERT INTO paths (path, image_id, root, size, mtime_ms, seen_at) VALUES (?, ?, ?, 10, ?, ?)',
    ).run(`/photos/${id}.png`, id, '/photos', t, t);
    db.prepare(
      "INSERT INTO embeddings (image_id, model_id, width, width_rank, dim, vector, created_at) VALUES (?, ?, '1', 1, ?, ?, ?)",
    ).run(id, modelId, dim, Buffer.from(v.buffer), t + id);
  });
  db.close();
}

test('a schema-2 database opens, migrates, keeps its rows and never reuses a deleted id', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-'));
  const lib = join(dir, 'lib');
  oldLibrary(lib, 'm@1', 4, [unit(4, 1), unit(4, 2), unit(4, 3)]);
  const store = Store.open(join(lib, 'matsearch.db'));
  assert.deepEqual(
    store.listImages(0, 10).map((r) => r.id),
    [1, 2, 3],
  );
  assert.deepEqual(store.pathsOf(2), ['/photos/2.png']);
  assert.deepEqual(store.getEmbedding(3, 'm@1', '1'), unit(4, 3));
  assert.ok(store.deleteImage(3));
  const id = store.insertImage({ hash: 'new', size: 1, status: 'ready' });
  assert.equal(id, 4, 'the deleted id 3 was handed out again');
  assert.equal(store.integrityCheck(), 'ok');
  store.close();
  // Opened again (already migrated): the same, and still no reuse.
  const again = Store.open(join(lib, 'matsearch.db'));
  assert.ok(again.deleteImage(4));
  assert.equal(again.insertImage({ hash: 'newer', size: 1, status: 'ready' }), 5);
  again.close();
  rmSync(dir, { recursive: true, force: true });
});

test("an index saved under the old fingerprint is rebuilt, not trusted with a reused id's vector", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-index-'));
  const { embedder } = await testEmbedder(join(dir, 'model'));
  const { modelId, dim } = embedder;
  const lib = join(dir, 'lib');
  const stored = [unit(dim, 1), unit(dim, 2), unit(dim, 3)];
  oldLibrary(lib, modelId, dim, stored);
  // The old index: image 3 was deleted and its id reused, so it holds the deleted image's vector
  // under 3, and the old fingerprint (count 3, id sum 6, latest write) still matched.
  const old = new BruteForceIndex(dim);
  old.add(1, stored[0]!);
  old.add(2, stored[1]!);
  old.add(3, unit(dim, 99));
  mkdirSync(join(lib, 'index'), { recursive: true });
  old.save(join(lib, 'index', `${slug(modelId)}.exact`));
  old.close();
  writeFileSync(
    join(lib, 'index', `${slug(modelId)}.sync.json`),
    JSON.stringify({
      modelId,
      dim,
      kind: 'exact',
      images: 3,
      idSum: 6,
      maxCreatedAt: Date.now(),
      narrow: [],
    }),
  );
  const l = Library.open(lib, { embedder, log: () => {} });
  const vs = await l.index.fullVectors([1, 2, 3]);
  vs.forEach((v, i) => assert.deepEqual(v, stored[i], `image ${i + 1}`));
  // And the library takes new images with fresh ids.
  const [f] = await writeImages(join(dir, 'photos'), 1, 51);
  assert.ok(l.remove(3));
  await l.ingest([f!]);
  assert.equal(l.store.findPath(f!)!.imageId, 4);
  l.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});
