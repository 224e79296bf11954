/**
 * A server and other processes writing to the same library: the server sees their writes
 * (vectors added by a CLI ingest, images removed), ids are never reused, so no image ever answers
 * with a deleted image's vector, and the index saved at the end agrees with the database.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { Child, reportFigures, script, testEmbedder } from './helpers.js';

let dir: string;
let modelDir: string;
let embedder: Embedder;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'other-writers-'));
  ({ modelDir, embedder } = await testEmbedder(join(dir, 'model')));
});

after(async () => {
  await Child.killAll();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `matsearch ingest` in another process; resolves with its summary. */
async function cliIngest(lib: string, roots: string[]): Promise<Record<string, unknown>> {
  const c = Child.start(script('ingest-child.js'), { lib, model: modelDir, roots });
  const done = await c.wait('done');
  await c.exited;
  return done['summary'] as Record<string, unknown>;
}

/** Polls the server's health until its index holds `n` vectors (or 10 s pass). */
async function indexReaches(srv: RunningServer, n: number): Promise<{ size: number; ms: number }> {
  const t0 = performance.now();
  let size = -1;
  while (performance.now() - t0 < 10_000) {
    const h = (await (await fetch(`${srv.url}/api/health`)).json()) as {
      index: { size: number };
    };
    size = h.index.size;
    if (size === n) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { size, ms: Math.round(performance.now() - t0) };
}

/** The top hit of a search with `file`. */
async function top(lib: Library, file: string) {
  const r = await lib.searchFile(file, { k: 3 });
  const hit = r.results[0]!;
  return { id: hit.id, score: hit.score };
}

test('the server catches up with another process, and a new image never takes a deleted id', async () => {
  const lib = join(dir, 'lib');
  const first = await writeImages(join(dir, 'p1'), 4, 31, 'p1');
  const server = Library.open(lib, { embedder, index: { thread: 'worker' }, log: () => {} });
  await server.ingest([join(dir, 'p1')]);
  const srv = await startServer(server, { port: 0, log: () => {} });
  try {
    // A CLI ingest while the server runs.
    const second = await writeImages(join(dir, 'p2'), 6, 32, 'p2');
    assert.equal((await cliIngest(lib, [join(dir, 'p2')]))['added'], 6);
    const seen = await indexReaches(srv, 10);
    assert.equal(seen.size, 10, 'the server never saw the other process add 6 images');
    // An exact copy of a new image is found, as itself.
    const copy = join(dir, 'copy.png');
    copyFileSync(second[3]!, copy);
    const want = server.store.findPath(second[3]!)!.imageId;
    const t = await top(server, copy);
    assert.equal(t.id, want);
    assert.ok(t.score > 0.999, String(t.score));

    // Another process removes the newest image, then ingests a new file.
    const other = Library.open(lib, { embedder, log: () => {} });
    const newest = Math.max(...other.store.listImages(0, 100).map((r) => r.id));
    const gone = other.store.pathsOf(newest)[0]!;
    const goneVector = other.store.getEmbedding(newest, embedder.modelId, '1')!;
    assert.ok(other.remove(newest));
    other.close();
    const fresh = await writeImages(join(dir, 'p3'), 1, 33, 'p3');
    assert.equal((await cliIngest(lib, [join(dir, 'p3')]))['added'], 1);
    const freshId = server.store.findPath(fresh[0]!)!.imageId;
    assert.ok(freshId > newest, `the new image took id ${freshId}, deleted image ${newest}'s`);
    const t0 = performance.now();
    while (!server.index.has(freshId) && performance.now() - t0 < 10_000)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(server.index.has(freshId), 'the server never saw the new image');
    assert.ok(!server.index.has(newest), 'the server still has the removed image');
    assert.equal(server.index.size, 10);
    // Oracle: the database's vector of the new image finds it as itself; the deleted image's
    // vector is nowhere in the index.
    const own = server.index.search(server.store.getEmbedding(freshId, embedder.modelId, '1')!, 1);
    assert.deepEqual(own.labels, [freshId]);
    assert.ok(own.scores[0]! > 0.999);
    const ghost = server.index.search(goneVector, 1);
    assert.ok(ghost.scores[0]! < 0.999, `the deleted vector answers as ${ghost.labels[0]}`);
    const f = await top(server, fresh[0]!);
    assert.equal(f.id, freshId);
    assert.notEqual((await top(server, gone)).id, newest);
    figures['catchUpMs'] = seen.ms;
    figures['removedId'] = newest;
    figures['newId'] = freshId;
  } finally {
    await srv.close();
    server.close();
  }
  // Restarted: the saved index agrees with the database.
  const again = Library.open(lib, { embedder, log: () => {} });
  assert.equal(again.index.size, 10);
  assert.equal((await top(again, fresh0(dir))).id, again.store.findPath(fresh0(dir))!.imageId);
  for (const p of first) assert.equal((await top(again, p)).id, again.store.findPath(p)!.imageId);
  again.close();
});

const fresh0 = (d: string) => join(d, 'p3', 'p3-000.png');
const figures: Record<string, unknown> = {};

test('figures', () => {
  reportFigures('other-writers', figures);
});
