/**
 * `ingest --prune` must not drop images whose folder merely could not be read (EIO on a flaky
 * mount, permissions): only what a clean walk no longer finds is gone.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/weights.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from './fixtures.js';

before(setup);

/** Runs fn while readdirSync fails with EIO for `dir` (the tests run as root: chmod does not bite). */
async function withUnreadable<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const orig = fs.readdirSync;
  (fs as { readdirSync: unknown }).readdirSync = (p: fs.PathLike, ...rest: unknown[]) => {
    if (String(p) === dir)
      throw Object.assign(new Error(`EIO: i/o error, scandir '${dir}'`), {
        code: 'EIO',
        errno: -5,
        syscall: 'scandir',
        path: dir,
      });
    return (orig as (...a: unknown[]) => unknown)(p, ...rest);
  };
  syncBuiltinESMExports();
  try {
    return await fn();
  } finally {
    fs.readdirSync = orig;
    syncBuiltinESMExports();
  }
}

test('prune keeps the images of a folder that could not be read, and says which', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prune-eio-'));
  const { model, modelId } = loadModel(saveTestModel(join(dir, 'model')));
  const embedder = await TfjsEmbedder.create(model, modelId);
  const photos = join(dir, 'photos');
  const a = await writeImages(join(photos, 'a'), 3, 1, 'a');
  const b = await writeImages(join(photos, 'b', 'deep'), 3, 2, 'b');
  const lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  assert.equal((await lib.ingest([photos])).added, 6);
  rmSync(a[0]!); // really gone: pruned

  const s = await withUnreadable(join(photos, 'b'), () => lib.ingest([photos], { prune: true }));
  assert.equal(s.pruned, 1);
  assert.equal(lib.store.findPath(a[0]!), undefined);
  for (const p of b) assert.ok(lib.store.findPath(p), `${p} was pruned`);
  assert.deepEqual(s.pruneSkipped, [join(photos, 'b')]);
  assert.equal(lib.stats().images, 5);

  // Readable again: nothing was lost, nothing to do.
  const again = await lib.ingest([photos], { prune: true });
  assert.deepEqual([again.added, again.pruned, again.unchanged], [0, 0, 5]);
  lib.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});
