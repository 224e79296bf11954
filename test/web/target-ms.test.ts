/**
 * A server started with a latency target picks the query width itself: the widest whose measured
 * encode latency, with the search queue ahead, fits the target. A bounded load run raises the
 * number of concurrent clients from 1 to 8 against an encoder whose latency per width is known:
 * the width steps down as the queue grows, nothing is refused, and each response says why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { loadModel } from '../../src/model/weights.js';
import * as S from '../../web/schemas.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';
import { delayed } from '../reliability/helpers.js';

const ORDER = ['1', '1/2', '1/4', '1/8'];
/** Encode time per width (ms): wide enough apart that scheduling noise cannot reorder them. */
const COST: Record<string, number> = { '1': 80, '1/2': 40, '1/4': 20, '1/8': 10 };

let dir: string;
let files: string[];
let lib: Library;
let srv: RunningServer;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'target-ms-'));
  const modelDir = saveTestModel(join(dir, 'model'));
  files = await writeImages(join(dir, 'photos'), 24, 5);
  const { model, modelId } = loadModel(modelDir);
  const inner = await TfjsEmbedder.create(model, modelId);
  lib = Library.open(join(dir, 'lib'), {
    embedder: delayed(inner, (w) => COST[inner.widthLabel(w)] ?? 0),
    log: () => {},
  });
  await lib.ingest([join(dir, 'photos')]);
  srv = await startServer(lib, {
    port: 0,
    concurrency: 2,
    maxQueue: 32,
    targetMs: 250,
    log: () => {},
  });
});

after(async () => {
  await srv.close();
  await lib.embedder.close();
  lib.close();
  rmSync(dir, { recursive: true, force: true });
});

function search(file: string, fields: Record<string, string> = {}) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  f.append('image', new Blob([new Uint8Array(readFileSync(file))]), 'q.png');
  return fetch(`${srv.url}/api/search`, { method: 'POST', body: f });
}

test('with no width asked, the width steps down as concurrent clients rise from 1 to 8', async () => {
  let next = 0;
  const seen: { clients: number; widths: string[] }[] = [];
  for (const clients of [1, 2, 4, 8]) {
    const rs = await Promise.all(
      Array.from({ length: clients * 2 }, () => search(files[next++ % files.length]!)),
    );
    const widths: string[] = [];
    for (const r of rs) {
      assert.equal(r.status, 200, `${clients} clients: ${r.status}`);
      const b = S.SearchResponse.parse(await r.json());
      assert.match(b.width_reason, /^auto: /);
      widths.push(b.widths.query);
    }
    seen.push({ clients, widths });
  }
  const narrowest = (ws: string[]) => Math.max(...ws.map((w) => ORDER.indexOf(w)));
  // Alone, full width fits 250 ms; 8 clients at once queue up and push the width down.
  assert.equal(narrowest(seen[0]!.widths), 0, JSON.stringify(seen));
  assert.ok(narrowest(seen[3]!.widths) >= 2, JSON.stringify(seen));
  for (let i = 1; i < seen.length; i++)
    assert.ok(narrowest(seen[i]!.widths) >= narrowest(seen[i - 1]!.widths), JSON.stringify(seen));
});

test('an asked width is kept and says so; auto takes budget_ms over the target', async () => {
  const r = S.SearchResponse.parse(await (await search(files[0]!, { width: '1/2' })).json());
  assert.equal(r.widths.query, '1/2');
  assert.equal(r.width_reason, 'requested');
  const tight = S.SearchResponse.parse(
    await (await search(files[1]!, { width: 'auto', budget_ms: '5' })).json(),
  );
  assert.equal(tight.widths.query, '1/8');
  assert.match(tight.width_reason, /no width fits 5\.00 ms/);
});
