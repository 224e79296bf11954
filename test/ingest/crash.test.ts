/** kill -9 in the middle of an ingest, run again: the library equals an uninterrupted run's. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/store/store.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeBadImages, writeImages } from './fixtures.js';

before(setup);

const child = fileURLToPath(new URL('./ingest-child.js', import.meta.url));

function snapshot(libDir: string) {
  const s = Store.open(join(libDir, 'matsearch.db'), { readonly: true });
  const paths = new Map<string, string>();
  const vectors = new Map<string, Float32Array>();
  for (const img of s.listImages(0, 1e9)) {
    for (const p of s.pathsOf(img.id)) paths.set(p, img.hash);
    const sets = [...s.widestEmbeddingsOf(img.id, s.embeddingSets()[0]!.modelId)];
    assert.equal(sets.length, 1, `image ${img.id} has ${sets.length} vectors`);
    vectors.set(img.hash, sets[0]!.vector);
  }
  const out = {
    paths,
    vectors,
    images: s.imageCount(),
    failures: s.failureCount(),
    integrity: s.integrityCheck(),
  };
  s.close();
  return out;
}

test('an ingest killed with SIGKILL and resumed gives the same library as a clean run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crash-'));
  const modelDir = saveTestModel(join(dir, 'model'));
  const photos = join(dir, 'photos');
  await writeImages(photos, 48, 3);
  await writeBadImages(join(photos, 'bad'));
  const run = (lib: string) =>
    spawnSync(process.execPath, [child, lib, modelDir, photos], { encoding: 'utf8' });

  const clean = run(join(dir, 'clean'));
  assert.equal(clean.status, 0, clean.stderr);

  // Start, wait until some batches have committed, then kill -9.
  const lib = join(dir, 'killed');
  const p = spawn(process.execPath, [child, lib, modelDir, photos], { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  let seen = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      const s = Store.open(join(lib, 'matsearch.db'), { readonly: true });
      seen = s.imageCount();
      s.close();
    } catch {
      // not created yet
    }
    if (seen >= 8) break;
  }
  p.kill('SIGKILL');
  await new Promise((r) => p.once('exit', r));
  assert.ok(seen >= 8 && seen < 48, `killed after ${seen} images: the kill must land mid-run`);

  const resumed = run(lib);
  assert.equal(resumed.status, 0, resumed.stderr);
  const a = snapshot(join(dir, 'clean'));
  const b = snapshot(lib);
  assert.equal(b.integrity, 'ok');
  assert.deepEqual([b.images, b.failures], [a.images, a.failures]);
  assert.deepEqual(new Map([...b.paths].sort()), new Map([...a.paths].sort()));
  for (const [hash, v] of a.vectors) {
    const w = b.vectors.get(hash)!;
    assert.ok(w, `missing vector for ${hash}`);
    for (let i = 0; i < v.length; i++)
      assert.ok(Math.abs(v[i]! - w[i]!) < 1e-5, `vector of ${hash} differs`);
  }
  rmSync(dir, { recursive: true });
});
