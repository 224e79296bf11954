/**
 * A server over a library ingested at 1/8 width refines it to full width in the background:
 * /api/stats shows the backlog shrink to zero, searches keep answering while vectors of both
 * widths coexist, an unreadable file is left narrow and counted (not retried forever), and a
 * search or write in progress holds the refiner off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { loadModel } from '../../src/model/weights.js';
import * as S from '../../web/schemas.js';
import { startServer } from '../../web/server.js';
import { Gate } from '../../web/limits.js';
import { BackgroundRefiner } from '../../web/refiner.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';

test('narrow vectors are refined while idle; searches keep working; stats show progress', async () => {
  await setup();
  const dir = mkdtempSync(join(tmpdir(), 'bg-refine-'));
  const { model, modelId } = loadModel(saveTestModel(join(dir, 'model')));
  const embedder = await TfjsEmbedder.create(model, modelId);
  const photos = join(dir, 'photos');
  const files = await writeImages(photos, 20, 4);
  const lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  await lib.ingest([photos], { width: '1/8' });
  // One file turns unreadable after ingest: it cannot be refined.
  writeFileSync(files[7]!, 'not an image any more');
  const logs: string[] = [];
  const srv = await startServer(lib, {
    port: 0,
    backgroundRefine: { share: 0.5, batch: 4, pollMs: 20 },
    log: (m) => logs.push(m),
  });
  const stats = async () =>
    S.StatsResponse.parse(await (await fetch(`${srv.url}/api/stats`)).json());
  try {
    const first = await stats();
    assert.ok(first.refine?.enabled);
    assert.equal(first.refine?.share, 0.5);
    const seenNarrow = new Set<number>([first.refine!.narrow]);
    let searches = 0;
    for (let i = 0; i < 400; i++) {
      // Searches in between: answered whatever mix of widths the library holds.
      const f = new FormData();
      f.append('width', '1/8');
      f.append('k', '3');
      f.append('image', new Blob([new Uint8Array(readFileSync(files[i % 5]!))]), 'q.png');
      const r = await fetch(`${srv.url}/api/search`, { method: 'POST', body: f });
      assert.equal(r.status, 200);
      assert.equal(S.SearchResponse.parse(await r.json()).results.length, 3);
      searches++;
      const s = await stats();
      seenNarrow.add(s.refine!.narrow);
      if (s.refine!.narrow === 1 && s.refine!.failed === 1 && !s.refine!.running) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const end = await stats();
    assert.equal(end.refine!.narrow, 1, 'only the unreadable image is left narrow');
    assert.equal(end.refine!.failed, 1);
    assert.equal(end.refine!.refined, 19);
    assert.ok(seenNarrow.size >= 3, `progress seen: ${[...seenNarrow].join(', ')}`);
    assert.ok(searches > 1);
    const widths = Object.fromEntries(end.vectors.map((v) => [v.width, v.count]));
    assert.equal(widths['1'], 19);
  } finally {
    await srv.close();
    lib.close();
    await embedder.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(logs, []);
});

test('a write or search in progress holds the refiner off', async () => {
  await setup();
  const dir = mkdtempSync(join(tmpdir(), 'bg-refine-gate-'));
  const { model, modelId } = loadModel(saveTestModel(join(dir, 'model')));
  const embedder = await TfjsEmbedder.create(model, modelId);
  const photos = join(dir, 'photos');
  await writeImages(photos, 6, 5);
  const lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  await lib.ingest([photos], { width: '1/8' });
  const gates = { search: new Gate('searches', 2, 4), write: new Gate('writes', 1, 4) };
  const refiner = new BackgroundRefiner(lib, gates, { share: 1, batch: 2, pollMs: 10 });
  const narrow = () => lib.store.narrowImages(modelId).size;
  try {
    const search = await gates.search.acquire(); // a search holds a slot
    refiner.start();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(narrow(), 6, 'refined while a search was running');
    search();
    const write = await gates.write.acquire(); // now an ingest holds the write gate
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(narrow() >= 4, 'the slice in flight at most, none after it');
    const held = narrow();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(narrow(), held, 'refined while a write held the gate');
    write();
    for (let i = 0; i < 200 && narrow() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(narrow(), 0);
    assert.equal(refiner.status().refined, 6);
  } finally {
    await refiner.stop();
    lib.close();
    await embedder.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
