/**
 * Every route that touches files, against path traversal and symlink escapes: originals (links to
 * files and folders outside the roots, link chains, a file swapped for a link after its ingest,
 * `..` in a stored path, a sibling folder sharing the root's prefix), thumbnails, uploads (hostile
 * file names), deletes (a link in uploads/), ingest roots, and the web UI's static files. Then the
 * API key on every write route (missing, wrong, any length, in the wrong place), and that keys
 * are compared with crypto.timingSafeEqual on equal-length digests. Then the inputs that once
 * could exhaust the server: a huge Mix'n'Match repeat count and a 1-pixel-wide strip.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { request } from 'node:http';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import type { RunningServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { checkLibrary } from './check.js';
import { reportFigures, testEmbedder } from './helpers.js';

// Every call of crypto.timingSafeEqual, seen through the live binding web/auth.ts imports.
const compared: [number, number][] = [];
const cryptoExports = crypto as { timingSafeEqual: typeof crypto.timingSafeEqual };
const realTimingSafeEqual = crypto.timingSafeEqual;
cryptoExports.timingSafeEqual = (a, b) => {
  compared.push([a.byteLength, b.byteLength]);
  return realTimingSafeEqual(a, b);
};
syncBuiltinESMExports();

const KEY = 'security-key-0123456789';
let dir: string;
let embedder: Embedder;
let lib: Library;
let srv: RunningServer;
let photos: string;
let outside: string;
const figures: Record<string, unknown> = {};

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'security-'));
  ({ embedder } = await testEmbedder(join(dir, 'model')));
  photos = join(dir, 'photos');
  outside = join(dir, 'outside');
  await writeImages(photos, 4, 1);
  const [secret] = await writeImages(outside, 2, 2, 'secret');
  // Links inside the root that lead out: to a file, to a folder, and a chain of two.
  symlinkSync(secret!, join(photos, 'link-file.png'));
  symlinkSync(outside, join(photos, 'link-dir'));
  symlinkSync(secret!, join(dir, 'hop.png'));
  symlinkSync(join(dir, 'hop.png'), join(photos, 'link-chain.png'));
  // A sibling folder whose name starts with the root's.
  await writeImages(`${photos}-evil`, 1, 3, 'evil');
  lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  await lib.ingest([photos, `${photos}-evil`]);
  const { startServer } = await import('../../web/server.js');
  srv = await startServer(lib, { port: 0, apiKey: KEY, roots: [photos], log: () => {} });
});

after(async () => {
  cryptoExports.timingSafeEqual = realTimingSafeEqual;
  syncBuiltinESMExports();
  await srv?.close();
  lib?.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A request sent byte for byte (fetch would normalise `..` away). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const idOf = (path: string) => lib.store.findPath(path)!.imageId;
const SECRET = () => readFileSync(join(outside, 'secret-000.png')).toString('latin1');

test('originals: no link, `..` or sibling folder leads outside the served roots', async () => {
  const cases: { what: string; status: number }[] = [];
  const expect = async (what: string, id: number, status: number) => {
    const r = await raw('GET', `/api/images/${id}/file`);
    assert.equal(r.status, status, `${what}: ${r.status} ${r.body.slice(0, 200)}`);
    assert.ok(!r.body.includes(SECRET()), `${what}: the secret was sent`);
    cases.push({ what, status: r.status });
  };
  await expect('a link to a file outside', idOf(join(photos, 'link-file.png')), 403);
  await expect(
    'a file in a linked folder outside',
    idOf(join(photos, 'link-dir', 'secret-001.jpg')),
    403,
  );
  await expect('a chain of links leading outside', idOf(join(photos, 'link-chain.png')), 403);
  await expect(
    'a sibling folder with the root as prefix',
    idOf(join(`${photos}-evil`, 'evil-000.png')),
    403,
  );
  // A file swapped for a link to a secret after it was ingested.
  const swapped = join(photos, 'img-001.jpg');
  const id = idOf(swapped);
  renameSync(swapped, `${swapped}.bak`);
  symlinkSync(join(outside, 'secret-000.png'), swapped);
  await expect('a file replaced by a link after ingest', id, 403);
  rmSync(swapped);
  renameSync(`${swapped}.bak`, swapped);
  await expect('the same file restored', id, 200);
  // A stored path with `..` in it that resolves to the secret (a tampered database).
  const tampered = join(photos, '..', 'outside', 'secret-000.png');
  lib.store.putPath({ path: tampered, imageId: id, root: photos, size: 1, mtimeMs: 1 });
  lib.store.removePath(swapped);
  await expect('a stored path with ..', id, 403);
  lib.store.putPath({ path: swapped, imageId: id, root: photos, size: 1, mtimeMs: 1 });
  lib.store.removePath(tampered);
  // Traversal in the URL itself, on every file route.
  for (const route of ['file', 'thumbnail', 'similar', '']) {
    for (const path of [
      `/api/images/..%2F..%2F..%2Fetc%2Fpasswd/${route}`,
      `/api/images/%2e%2e/%2e%2e/%2e%2e/etc/passwd/${route}`,
      `/api/images/1/${route}/../../../../../etc/passwd`,
      `/api/images/1%00/${route}`,
      `/api/images/1;/etc/passwd/${route}`,
    ]) {
      const r = await raw('GET', path);
      assert.ok([400, 404].includes(r.status), `${path}: ${r.status}`);
      assert.ok(!r.body.includes('root:x:0'), path);
      cases.push({ what: `URL ${path}`, status: r.status });
    }
  }
  figures['originals'] = { cases: cases.length, leaks: 0 };
});

test('uploads: a hostile file name never picks where the file goes', async () => {
  const png = await sharp({ create: { width: 9, height: 9, channels: 3, background: '#0a0' } })
    .png()
    .toBuffer();
  const names = [
    '../../../../../../tmp/pwned.png',
    `../../${'outside'}/pwned.png`,
    '..\\..\\..\\pwned.png',
    '/etc/cron.d/pwned',
    'a/../../pwned.png',
    '.htaccess',
    'nul\u0000.png',
    '😀/../../pwned.png',
  ];
  const uploads = join(lib.dir, 'uploads');
  let i = 0;
  for (const name of names) {
    // Distinct content each time, so every upload is a new file.
    const bytes = await sharp(png)
      .png({ compressionLevel: i++ % 10 })
      .toBuffer();
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(bytes)]), name);
    const r = await fetch(`${srv.url}/api/images`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: form,
    });
    assert.ok([201, 400].includes(r.status), `${name}: ${r.status}`);
  }
  for (const p of ['/tmp/pwned.png', join(dir, 'outside', 'pwned.png'), join(dir, 'pwned.png')])
    assert.ok(!existsSync(p), `an upload escaped to ${p}`);
  for (const f of readdirSync(uploads))
    assert.match(f, /^[0-9a-f]{24}\.(png|jpg|gif|webp|tiff|avif)$/);
  figures['uploads'] = { names: names.length, escaped: 0 };
});

test('deletes: only the library’s own copy goes; a link in uploads/ is not followed', async () => {
  const secretCopy = join(dir, 'precious.png');
  writeFileSync(secretCopy, readFileSync(join(outside, 'secret-001.jpg')));
  // An image whose library path is a link inside uploads/ pointing at a precious file.
  const uploads = join(lib.dir, 'uploads');
  const link = join(uploads, 'planted-link.png');
  symlinkSync(secretCopy, link);
  await lib.ingest([link]);
  const id = idOf(link);
  const del = await fetch(`${srv.url}/api/images/${id}`, {
    method: 'DELETE',
    headers: { 'x-api-key': KEY },
  });
  assert.equal(del.status, 204);
  assert.ok(existsSync(secretCopy), 'the target of the link was deleted');
  // An image under a served root: deleting it from the library leaves the file alone.
  const own = join(photos, 'img-000.png');
  const d2 = await fetch(`${srv.url}/api/images/${idOf(own)}`, {
    method: 'DELETE',
    headers: { 'x-api-key': KEY },
  });
  assert.equal(d2.status, 204);
  assert.ok(existsSync(own));
  figures['deletes'] = { cases: 2, filesOutsideTouched: 0 };
});

test('ingest: only a served root, however the path is spelled', async () => {
  const post = (root: string) =>
    fetch(`${srv.url}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ root }),
    });
  for (const root of [
    outside,
    join(photos, '..', 'outside'),
    join(photos, 'link-dir'),
    `${photos}-evil`,
    '/',
    '../../..',
    `${photos}\u0000`,
  ]) {
    const r = await post(root);
    assert.equal(r.status, 400, `${root}: ${r.status}`);
  }
  const ok = await post(`${photos}/sub/..`);
  assert.equal(ok.status, 202, 'a served root spelled with ..');
  const job = (await ok.json()) as { url: string };
  for (let i = 0; i < 200; i++) {
    const state = ((await (await fetch(srv.url + job.url)).json()) as { state: string }).state;
    if (state !== 'queued' && state !== 'running') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  figures['ingest'] = { refused: 7, allowed: 1 };
});

test('the web UI: no traversal, no dotfiles, no link out of its folder', async () => {
  for (const path of [
    '/../../../../etc/passwd',
    '/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/js/..%5c..%5c..%5cetc%5cpasswd',
    '/css/../../../package.json',
    '/.git/config',
    '/%00',
    '/%E0%A4%A',
  ]) {
    const r = await raw('GET', path);
    assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
    assert.ok(!r.body.includes('root:x:0') && !r.body.includes('"devDependencies"'), path);
  }
  // A UI folder with links leading out of it (uiRoutes on a copy we can plant links in).
  const express = (await import('express')).default;
  const { uiRoutes } = await import('../../web/routes/ui.js');
  const { errorMiddleware } = await import('../../web/errors.js');
  const ui = join(dir, 'ui');
  mkdirSync(join(ui, 'sub'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ok</title>');
  symlinkSync(join(outside, 'secret-000.png'), join(ui, 'leak.png'));
  symlinkSync(outside, join(ui, 'sub', 'up'));
  const app = express();
  app.use(
    uiRoutes(ui),
    errorMiddleware(() => {}),
  );
  const s = app.listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const base = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  try {
    assert.equal((await fetch(`${base}/index.html`)).status, 200);
    for (const p of ['/leak.png', '/sub/up/secret-000.png']) {
      const r = await fetch(base + p);
      assert.equal(r.status, 404, `${p} was served from outside the UI folder`);
    }
  } finally {
    s.close();
  }
  figures['ui'] = { traversals: 8, linksOut: 2, served: 0 };
});

test('the API key: every write route, every wrong way to send it; timing-safe comparison', async () => {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123' } })
    .png()
    .toBuffer();
  const writes = [
    () => ({ method: 'POST', path: '/api/images', type: 'multipart' }),
    () => ({
      method: 'DELETE',
      path: `/api/images/${lib.store.listImages(0, 1)[0]!.id}`,
      type: '',
    }),
    () => ({ method: 'POST', path: '/api/ingest', type: 'json' }),
  ];
  const wrong: [string, Record<string, string>][] = [
    ['no key', {}],
    ['wrong key, same length', { authorization: `Bearer ${'x'.repeat(KEY.length)}` }],
    ['wrong key, one character off', { authorization: `Bearer ${KEY.slice(0, -1)}0` }],
    ['a prefix of the key', { authorization: `Bearer ${KEY.slice(0, 5)}` }],
    ['the key and more', { authorization: `Bearer ${KEY}x` }],
    ['a 10 kB key', { 'x-api-key': 'k'.repeat(10_000) }],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['Basic scheme', { authorization: `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}` }],
    ['the key upper-cased', { 'x-api-key': KEY.toUpperCase() }],
    ['the key in the query string', {}],
  ];
  let refused = 0;
  for (const make of writes) {
    for (const [what, headers] of wrong) {
      const w = make();
      const path = what.includes('query') ? `${w.path}?api_key=${KEY}&key=${KEY}` : w.path;
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(png)]), 'a.png');
      const r = await fetch(srv.url + path, {
        method: w.method,
        headers: {
          ...headers,
          ...(w.type === 'json' ? { 'content-type': 'application/json' } : {}),
        },
        ...(w.type === 'multipart' ? { body: form } : w.type === 'json' ? { body: '{}' } : {}),
      });
      assert.equal(r.status, 401, `${w.method} ${w.path} with ${what}: ${r.status}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      refused++;
    }
  }
  // Reads stay open; the right key works in both headers.
  assert.equal((await fetch(`${srv.url}/api/images`)).status, 200);
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(png)]), 'a.png');
  const ok = await fetch(`${srv.url}/api/images`, {
    method: 'POST',
    headers: { 'x-api-key': KEY },
    body: form,
  });
  assert.equal(ok.status, 201);
  // Every check went through timingSafeEqual, always on two 32-byte SHA-256 digests.
  assert.ok(compared.length >= refused - writes.length, `${compared.length} comparisons`);
  assert.ok(
    compared.every(([a, b]) => a === 32 && b === 32),
    JSON.stringify(compared),
  );
  figures['apiKey'] = {
    writeRoutes: writes.length,
    wrongWays: wrong.length,
    refused,
    timingSafeEqualCalls: compared.length,
    digestBytes: 32,
  };
});

test('inputs that exhaust a server: a huge width repeat count, a 1-pixel strip', async () => {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#321' } })
    .png()
    .toBuffer();
  const strip = await sharp({
    create: { width: 1, height: 2_000_000, channels: 3, background: '#884422' },
  })
    .png()
    .toBuffer();
  const search = async (image: Buffer, fields: Record<string, string>) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('image', new Blob([new Uint8Array(image)]), 'q.png');
    const t0 = performance.now();
    const r = await fetch(`${srv.url}/api/search`, { method: 'POST', body: form });
    return { status: r.status, ms: performance.now() - t0 };
  };
  const repeat = await search(png, { width: '1/8x1000000000' });
  assert.equal(repeat.status, 400, 'a width repeated 10^9 times');
  const s = await search(strip, { k: '1' });
  assert.equal(s.status, 200);
  assert.ok(s.ms < 10_000, `the strip took ${s.ms} ms`);
  const health = await fetch(`${srv.url}/api/health`);
  assert.equal(health.status, 200);
  figures['exhaustion'] = { widthRepeatStatus: repeat.status, stripMs: Math.round(s.ms) };
});

test('the library is intact after all of it', async () => {
  await srv.close();
  lib.close();
  checkLibrary(join(dir, 'lib'), embedder);
  lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  reportFigures('web-security', figures);
});
