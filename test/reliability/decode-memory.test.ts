/**
 * One upload request may not ask for more decode memory than the whole process budget: the sum,
 * over its files, of pixels x channels x bytes per sample, read from their headers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeMemory } from '../../ingest/decode.js';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { testEmbedder } from './helpers.js';

let dir: string;
let embedder: Embedder;
let lib: Library;
let srv: RunningServer;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'decode-memory-'));
  ({ embedder } = await testEmbedder(join(dir, 'model')));
  lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  srv = await startServer(lib, { port: 0, log: () => {} });
});

after(async () => {
  await srv?.close(100);
  lib?.close();
  await embedder?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an upload whose files together need more than the decode budget is refused unread', async () => {
  // 40 MP RGB each (the default pixel cap): 120 MB decoded; nine of them pass 1 GiB.
  const f = new FormData();
  let need = 0;
  for (let i = 0; i < 9; i++) {
    const png = await sharp({
      create: { width: 8000, height: 5000, channels: 3, background: { r: 20 * i, g: 90, b: 9 } },
    })
      .png()
      .toBuffer();
    need += 8000 * 5000 * 3;
    f.append('image', new Blob([new Uint8Array(png)]), `big-${i}.png`);
  }
  assert.ok(need > decodeMemory.budget);
  const res = await fetch(`${srv.url}/api/images`, { method: 'POST', body: f });
  const body = (await res.json()) as { error?: { code: string; field: string; message: string } };
  assert.equal(res.status, 413, JSON.stringify(body));
  assert.equal(body.error?.field, 'image');
  assert.match(body.error!.message, /1080\.0 MB to decode/);
  assert.equal(lib.store.imageCount(), 0);
});
