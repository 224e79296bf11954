/**
 * The one checker every reliability test ends with: is this library intact? It opens the library
 * as any command would (so a stale or broken index is repaired, and says so in the log), then
 * checks, against the database and the disk:
 *   - `PRAGMA integrity_check` is ok and `PRAGMA foreign_key_check` is empty;
 *   - every image is ready, has at least one path, its thumbnail, and a vector of the model;
 *   - no path, vector or failure points at nothing, and no path is both an image and a failure;
 *   - the index holds exactly the images with vectors, and each stored vector finds its image.
 * It returns a snapshot (paths -> content hash, vectors by hash, counts, leftovers on disk) that
 * `assertSameLibrary` compares with the snapshot of a clean run.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { setup } from '../helpers.js';
import { testEmbedder, writeCorpus } from './helpers.js';

export interface LibrarySnapshot {
  readonly images: number;
  readonly vectors: number;
  readonly failures: number;
  /** Library path -> content hash of its image. */
  readonly paths: Map<string, string>;
  /** Library path -> error, for files recorded as failed. */
  readonly failed: Map<string, string>;
  /** Content hash -> widest vector. */
  readonly vectorByHash: Map<string, Float32Array>;
  readonly indexKind: string;
  readonly indexSize: number;
  /** Thumbnails of no image (a write interrupted before its commit; harmless cache). */
  readonly orphanThumbnails: number;
  /** Temp files left anywhere in the library folder. */
  readonly tmpFiles: string[];
  /** What the library logged while opening (index repairs). */
  readonly log: string[];
}

function* filesUnder(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* filesUnder(p);
    else yield p;
  }
}

/** Checks the library in `libDir` (see the file comment) and returns its snapshot. */
export function checkLibrary(libDir: string, embedder: Embedder): LibrarySnapshot {
  const log: string[] = [];
  const lib = Library.open(libDir, { embedder, log: (m) => log.push(m) });
  try {
    const { store, index } = lib;
    const model = embedder.modelId;
    assert.equal(store.integrityCheck(), 'ok', `${libDir}: PRAGMA integrity_check`);
    const paths = new Map<string, string>();
    const vectorByHash = new Map<string, Float32Array>();
    const hashes = new Set<string>();
    const images = store.listImages(0, Number.MAX_SAFE_INTEGER);
    for (const img of images) {
      const where = `${libDir}: image ${img.id}`;
      assert.equal(img.status, 'ready', `${where} is ${img.status}`);
      const own = store.pathsOf(img.id);
      assert.ok(own.length > 0, `${where} has no path`);
      for (const p of own) paths.set(p, img.hash);
      const v = [...store.widestEmbeddingsOf(img.id, model)];
      assert.ok(v.length > 0, `${where} has no vector of ${model}`);
      assert.equal(v[0]!.vector.length, embedder.dim, `${where}: vector size`);
      assert.ok(
        v[0]!.vector.every((x) => Number.isFinite(x)),
        `${where}: vector has non-finite values`,
      );
      vectorByHash.set(img.hash, v[0]!.vector);
      hashes.add(img.hash);
      assert.ok(existsSync(lib.thumbnailOf(img.id)!), `${where} has no thumbnail`);
      // The index holds it, and its own vector finds it.
      assert.ok(index.has(img.id), `${where} is missing from the ${index.kind} index`);
      // (Images with identical pixels tie: then the filtered search tells.)
      const found =
        index.search(v[0]!.vector, 10).labels.includes(img.id) ||
        (index.search(v[0]!.vector, 1, (l) => l === img.id).scores[0] ?? 0) > 0.9999;
      assert.ok(found, `${where}: its vector does not find it`);
    }
    assert.equal(index.size, images.length, `${libDir}: index size vs images`);
    assert.equal(store.modelFingerprint(model).images, images.length, `${libDir}: vectors`);

    // Raw SQL for what the Store API cannot express: dangling rows of any kind.
    const db = new Database(join(libDir, 'matsearch.db'), { readonly: true });
    const failed = new Map<string, string>();
    try {
      assert.deepEqual(db.pragma('foreign_key_check'), [], `${libDir}: foreign_key_check`);
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      assert.equal(
        count('SELECT COUNT(*) AS n FROM paths WHERE image_id NOT IN (SELECT id FROM images)'),
        0,
        `${libDir}: paths of no image`,
      );
      assert.equal(
        count('SELECT COUNT(*) AS n FROM embeddings WHERE image_id NOT IN (SELECT id FROM images)'),
        0,
        `${libDir}: vectors of no image`,
      );
      assert.equal(
        count('SELECT COUNT(*) AS n FROM failures WHERE path IN (SELECT path FROM paths)'),
        0,
        `${libDir}: paths that are both an image and a failure`,
      );
      for (const r of db.prepare('SELECT path, error FROM failures').all() as {
        path: string;
        error: string;
      }[]) {
        assert.ok(r.error.length > 0, `${r.path}: failure without a message`);
        failed.set(r.path, r.error);
      }
    } finally {
      db.close();
    }

    let orphanThumbnails = 0;
    for (const f of filesUnder(lib.thumbsDir))
      if (/\.(jpg|webp)$/.test(f) && !hashes.has(basename(f).replace(/\.\w+$/, '')))
        orphanThumbnails++;
    const tmpFiles = [...filesUnder(libDir)].filter((f) => /\.tmp$/.test(f));
    return {
      images: images.length,
      vectors: store.modelFingerprint(model).images,
      failures: store.failureCount(),
      paths,
      failed,
      vectorByHash,
      indexKind: index.kind,
      indexSize: index.size,
      orphanThumbnails,
      tmpFiles,
      log,
    };
  } finally {
    lib.close();
  }
}

/** `b` holds the same files, contents, failures and vectors as `a` (a clean run's snapshot). */
export function assertSameLibrary(b: LibrarySnapshot, a: LibrarySnapshot, what: string): void {
  assert.deepEqual(
    [b.images, b.vectors, b.failures],
    [a.images, a.vectors, a.failures],
    `${what}: [images, vectors, failures]`,
  );
  assert.deepEqual(new Map([...b.paths].sort()), new Map([...a.paths].sort()), `${what}: paths`);
  assert.deepEqual([...b.failed.keys()].sort(), [...a.failed.keys()].sort(), `${what}: failures`);
  for (const [hash, v] of a.vectorByHash) {
    const w = b.vectorByHash.get(hash);
    assert.ok(w, `${what}: no vector for ${hash}`);
    for (let i = 0; i < v.length; i++)
      assert.ok(Math.abs(v[i]! - w[i]!) < 1e-5, `${what}: the vector of ${hash} differs`);
  }
}

/** What a fault test starts from, in a new temp folder: the test encoder, a corpus, and the library a clean ingest makes of it. */
export async function cleanCorpus(
  prefix: string,
  n: number,
  seed: number,
): Promise<{
  dir: string;
  modelDir: string;
  embedder: Embedder;
  photos: string;
  clean: LibrarySnapshot;
}> {
  await setup();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const { modelDir, embedder } = await testEmbedder(join(dir, 'model'));
  const photos = await writeCorpus(join(dir, 'photos'), n, seed);
  const lib = Library.open(join(dir, 'clean'), { embedder, log: () => {} });
  await lib.ingest([photos], { batch: 4 });
  lib.close();
  return { dir, modelDir, embedder, photos, clean: checkLibrary(join(dir, 'clean'), embedder) };
}
