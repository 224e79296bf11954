/**
 * Uploaded originals belong to the library wherever it is: a library moved or opened through a
 * link keeps them (the start-up sweep decides by the database, not by how the path is spelled),
 * and a second server on the same library is refused instead of sweeping the first one's files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../src/library.js';
import { Store } from '../../src/store/store.js';
import type { Embedder } from '../../src/embed/embedder.js';
import { startServer } from '../../web/server.js';
import { reconcileUploads } from '../../web/uploads.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { Child, script, testEmbedder } from '../reliability/helpers.js';

let dir: string;
let modelDir: string;
let embedder: Embedder;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'uploads-moved-'));
  ({ modelDir, embedder } = await testEmbedder(join(dir, 'model')));
});

after(async () => {
  await Child.killAll();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a server over the library at `libDir`, runs fn, stops; returns the log lines. */
async function serving(libDir: string, fn: (url: string, lib: Library) => Promise<void>) {
  const logs: string[] = [];
  const lib = Library.open(libDir, { embedder, log: (m) => logs.push(m) });
  const srv = await startServer(lib, { port: 0, log: (m) => logs.push(m) });
  try {
    await fn(srv.url, lib);
  } finally {
    await srv.close();
    lib.close();
  }
  return logs;
}

/** Each uploaded image's original is served byte for byte, and every stored path exists. */
async function assertOriginals(url: string, lib: Library, sent: Map<number, Buffer>) {
  for (const [id, bytes] of sent) {
    const r = await fetch(`${url}/api/images/${id}/file`);
    assert.equal(r.status, 200, `image ${id}: ${await r.clone().text()}`);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes);
    for (const p of lib.store.pathsOf(id)) assert.ok(existsSync(p), `${p} is gone`);
  }
}

test('uploads survive a moved library and one opened through a link; a second server is refused', async () => {
  const files = await writeImages(join(dir, 'photos'), 2, 21);
  const sent = new Map<number, Buffer>();
  await serving(join(dir, 'L'), async (url) => {
    const f = new FormData();
    for (const p of files) f.append('image', new Blob([new Uint8Array(readFileSync(p))]), 'x.png');
    const r = await fetch(`${url}/api/images`, { method: 'POST', body: f });
    assert.equal(r.status, 201, await r.clone().text());
    const body = (await r.json()) as { images: { id: number }[] };
    body.images.forEach((im, i) => sent.set(im.id, readFileSync(files[i]!)));
  });
  assert.equal(sent.size, 2);

  renameSync(join(dir, 'L'), join(dir, 'L2'));
  const moved = await serving(join(dir, 'L2'), (url, lib) => assertOriginals(url, lib, sent));
  assert.ok(!moved.some((m) => /removed \d+ file/.test(m)), moved.join('\n'));
  assert.equal(readdirSync(join(dir, 'L2', 'uploads')).length, 2);

  symlinkSync(join(dir, 'L2'), join(dir, 'L3'));
  const linked = await serving(join(dir, 'L3'), async (url, lib) => {
    await assertOriginals(url, lib, sent);
    // A second server on the same library (another process): refused, and it sweeps nothing,
    // not even a file the first one is uploading right now.
    const inFlight = join(dir, 'L2', 'uploads', 'in-flight.png');
    writeFileSync(inFlight, readFileSync(files[0]!));
    const second = Child.start(script('server-child.js'), {
      lib: join(dir, 'L2'),
      model: modelDir,
    });
    const outcome = await Promise.race([
      second.wait('listening').then(
        () => 'listening',
        () => 'exited',
      ),
      second.exited.then(() => 'exited'),
    ]);
    await second.kill();
    assert.equal(outcome, 'exited', 'a second server started on the same library');
    assert.match(second.stderr, /serving this library/);
    assert.ok(existsSync(inFlight), "the second server swept the first one's upload");
    rmSync(inFlight);
  });
  assert.ok(!linked.some((m) => /removed \d+ file/.test(m)), linked.join('\n'));

  // Back under the real path: still whole.
  await serving(join(dir, 'L2'), (url, lib) => assertOriginals(url, lib, sent));
  assert.equal(readdirSync(join(dir, 'L2', 'uploads')).length, 2);
});

test('the start-up sweep: re-points old spellings, keeps what is newer than the server, removes orphans', () => {
  const lib = join(dir, 'sweep');
  const uploads = join(lib, 'uploads');
  mkdirSync(uploads, { recursive: true });
  const store = Store.open(join(lib, 'matsearch.db'));
  const id = store.insertImage({ hash: 'h', size: 1, status: 'ready' });
  const old = join(dir, 'gone-library', 'uploads', 'kept.png'); // the library's former place
  store.putPath({ path: old, imageId: id, root: old, size: 1, mtimeMs: 0 });
  for (const n of ['kept.png', 'orphan.png', 'fresh.png', 'x.png.123.tmp'])
    writeFileSync(join(uploads, n), 'x');
  const past = new Date(Date.now() - 60_000);
  for (const n of ['kept.png', 'orphan.png', 'x.png.123.tmp'])
    utimesSync(join(uploads, n), past, past);
  const startedAt = Date.now() - 1000; // fresh.png was written after the server started
  utimesSync(join(uploads, 'fresh.png'), new Date(), new Date());
  assert.deepEqual(reconcileUploads(uploads, store, startedAt), { removed: 2, relinked: 1 });
  assert.deepEqual(readdirSync(uploads).sort(), ['fresh.png', 'kept.png']);
  assert.deepEqual(store.pathsOf(id), [join(uploads, 'kept.png')]);
  assert.equal(store.findPath(join(uploads, 'kept.png'))!.root, join(uploads, 'kept.png'));
  store.close();
});
