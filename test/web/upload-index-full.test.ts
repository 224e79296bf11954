/**
 * An upload committed to the database whose index save then hits a full disk: the answer says
 * the image is stored (it is, and the next open repairs the index), not that nothing was.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Library } from '../../src/library.js';
import type { Embedder } from '../../src/embed/embedder.js';
import { startServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { testEmbedder } from '../reliability/helpers.js';

let dir: string;
let embedder: Embedder;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'upload-index-full-'));
  ({ embedder } = await testEmbedder(join(dir, 'model')));
});

after(async () => {
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an upload whose index save fails after its commit says the image is stored', async () => {
  const libDir = join(dir, 'lib');
  const photos = join(dir, 'photos');
  await writeImages(photos, 2, 3);
  const lib = Library.open(libDir, { embedder, log: () => {} });
  await lib.ingest([photos]);
  const srv = await startServer(lib, { port: 0, log: () => {} });
  try {
    // This process's temp names for the index files lead to /dev/full: each save hits ENOSPC.
    for (const f of readdirSync(join(libDir, 'index')))
      symlinkSync('/dev/full', join(libDir, 'index', `${f}.${process.pid}.tmp`));
    const png = await sharp({
      create: { width: 40, height: 30, channels: 3, background: '#a0522d' },
    })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(png)]), 'sienna.png');
    const res = await fetch(`${srv.url}/api/images`, { method: 'POST', body: form });
    const body = (await res.json()) as { error: { code: string; message: string } };
    // Oracle: the database, which holds the upload.
    const stored = lib.stats().images;
    assert.equal(stored, 3, 'the upload was committed');
    assert.equal(res.status, 507, JSON.stringify(body));
    assert.equal(body.error.code, 'E_DISK_FULL');
    assert.doesNotMatch(body.error.message, /nothing was stored/);
    assert.match(body.error.message, /stored/);
    assert.match(body.error.message, /index/);
  } finally {
    for (const f of readdirSync(join(libDir, 'index')))
      if (f.endsWith(`.${process.pid}.tmp`)) rmSync(join(libDir, 'index', f));
    await srv.close();
    lib.close();
  }
});
