/**
 * Who may rewrite a library's index files: only a writer holding the library's writer lock.
 * Read-only commands (search, stats) repair a stale index in memory and leave the files alone,
 * and a process that cannot take the lock (another one is writing) does not save at close.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock } from '../../ingest/lock.js';
import { Library } from '../../src/library.js';
import { Store } from '../../src/store/store.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { testEmbedder } from '../reliability/helpers.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** name -> sha256 of every file in the index folder. */
function snapshot(indexDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(indexDir).sort())
    out[n] = createHash('sha256')
      .update(readFileSync(join(indexDir, n)))
      .digest('hex');
  return out;
}

test('search and stats never rewrite the index; nobody saves it without the writer lock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'index-save-'));
  const { modelDir, embedder } = await testEmbedder(join(dir, 'model'));
  const files = await writeImages(join(dir, 'photos'), 6, 41);
  const libDir = join(dir, 'lib');
  const lib = Library.open(libDir, { embedder, log: () => {} });
  await lib.ingest([join(dir, 'photos')]);
  const victim = lib.store.findPath(files[2]!)!.imageId;
  lib.close();
  // The index goes stale behind its back: an image leaves the database only.
  const store = Store.open(join(libDir, 'matsearch.db'));
  store.deleteImage(victim);
  store.close();
  const before = snapshot(join(libDir, 'index'));

  const run = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [cli, ...args, '--library', libDir, '--model', modelDir, '--json'],
      {
        encoding: 'utf8',
      },
    );
  const s = run('search', files[2]!, '--k', '6');
  assert.equal(s.status, 0, s.stderr);
  const ids = (JSON.parse(s.stdout) as { results: { id: number }[] }).results.map((r) => r.id);
  assert.ok(!ids.includes(victim), 'the search returned an image the database no longer has');
  assert.equal(ids.length, 5);
  const st = run('stats');
  assert.equal(st.status, 0, st.stderr);
  assert.equal((JSON.parse(st.stdout) as { index: { size: number } }).index.size, 5);
  assert.deepEqual(
    snapshot(join(libDir, 'index')),
    before,
    'a read-only command rewrote the index',
  );

  // Another process holds the writer lock: this one repairs in memory and saves nothing.
  const release = acquireLock(join(libDir, 'write.lock'), 'ingesting');
  try {
    const held = Library.open(libDir, { embedder, log: () => {} });
    assert.equal(held.index.size, 5);
    held.close();
    assert.deepEqual(snapshot(join(libDir, 'index')), before, 'saved without the writer lock');
  } finally {
    release();
  }
  // With the lock free, a writable open saves the repaired index.
  const free = Library.open(libDir, { embedder, log: () => {} });
  free.close();
  assert.notDeepEqual(snapshot(join(libDir, 'index')), before);
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});
