/**
 * The server in its default set-up (loopback, no API key) against what a web page on another
 * site can make a browser send: cross-site form and text/plain posts (CSRF), requests for our
 * port under the attacker's host name (DNS rebinding); then what the roots hide (an image linked
 * in from outside them), and the small ways requests used to get a 500 or a wrong answer: body
 * encodings and charsets, a JSON `null`, an empty or padded API key, ids spelled `0x10` or `1e2`,
 * a delete on a full disk, a thumbnail whose image is deleted mid-request, and upload errors that
 * named the server's folders.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs, {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { thumbnailPath } from '../../ingest/pipeline.js';
import type { RunningServer } from '../../web/server.js';
import { startServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { checkLibrary } from './check.js';
import { reportFigures, testEmbedder } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir: string;
let modelDir: string;
let embedder: Embedder;
let lib: Library;
let srv: RunningServer;
let photos: string;
let outside: string;
const logged: string[] = [];
const figures: Record<string, unknown> = {};

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'web-defaults-'));
  ({ modelDir, embedder } = await testEmbedder(join(dir, 'model')));
  photos = join(dir, 'photos');
  outside = join(dir, 'outside');
  await writeImages(photos, 4, 11);
  const [secret] = await writeImages(outside, 1, 12, 'secret');
  symlinkSync(secret!, join(photos, 'link-out.png')); // inside the root, its file outside
  lib = Library.open(join(dir, 'lib'), {
    embedder,
    index: { thread: 'worker' },
    log: (m) => logged.push(m),
  });
  await lib.ingest([photos]);
  srv = await startServer(lib, { port: 0, roots: [photos], log: (m) => logged.push(m) });
});

after(async () => {
  await srv?.close();
  lib?.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request sent as written: any Host, Origin or Content-Encoding header. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
  port = srv.port,
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const errorOf = (r: Raw) =>
  (JSON.parse(r.body) as { error: { code: string; message: string } }).error;

/** A multipart body with one small PNG in the field `image` (distinct per `seed`). */
async function multipartPng(seed: number): Promise<{ body: Buffer; type: string }> {
  const png = await sharp({
    create: { width: 12, height: 12, channels: 3, background: { r: seed % 256, g: 40, b: 90 } },
  })
    .png()
    .toBuffer();
  const boundary = `----matsearch${seed}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

const firstId = () => lib.store.listImages(0, 1)[0]!.id;
const idOf = (path: string) => lib.store.findPath(path)!.imageId;

// ---- 12. cross-site requests and DNS rebinding ---------------------------------------------

test('CSRF: a text/plain body on a JSON route is refused, not read as {}', async () => {
  const r = await raw('POST', '/api/ingest', { 'content-type': 'text/plain' }, '{"prune":true}');
  assert.equal(r.status, 415, r.body);
  assert.equal(errorOf(r).code, 'E_UNSUPPORTED_MEDIA');
  const form = await raw(
    'POST',
    '/api/ingest',
    { 'content-type': 'application/x-www-form-urlencoded' },
    'root=/',
  );
  assert.equal(form.status, 415, form.body);
  assert.equal(lib.store.imageCount(), 5, 'nothing ingested');
});

test('CSRF: a write from another origin is refused; same origin and no Origin pass', async () => {
  const before = lib.store.imageCount();
  const cases: { what: string; status: number }[] = [];
  const upload = async (what: string, headers: Record<string, string>, want: number) => {
    const { body, type } = await multipartPng(cases.length + 1);
    const r = await raw('POST', '/api/images', { 'content-type': type, ...headers }, body);
    assert.equal(r.status, want, `${what}: ${r.status} ${r.body}`);
    cases.push({ what, status: r.status });
  };
  const port = srv.port;
  await upload('Origin of another site', { origin: 'http://evil.example' }, 403);
  await upload(
    'Origin of another port on this host',
    { origin: `http://127.0.0.1:${port + 1}` },
    403,
  );
  await upload('Origin null (sandboxed frame, file://)', { origin: 'null' }, 403);
  await upload('no Origin, but Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }, 403);
  assert.equal(lib.store.imageCount(), before, 'a cross-site upload was stored');
  const del = await raw('DELETE', `/api/images/${firstId()}`, { origin: 'http://evil.example' });
  assert.equal(del.status, 403, del.body);
  const ing = await raw(
    'POST',
    '/api/ingest',
    { origin: 'http://evil.example', 'content-type': 'application/json' },
    '{}',
  );
  assert.equal(ing.status, 403, ing.body);
  assert.match(errorOf(ing).message, /--cors/);
  // The UI's own requests (same origin) and clients that send no Origin (curl, scripts).
  await upload(
    'same origin (the web UI, as Chromium sends it)',
    {
      origin: `http://127.0.0.1:${port}`,
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'cors',
    },
    201,
  );
  await upload(
    'same origin by name',
    { origin: `http://localhost:${port}`, host: `localhost:${port}` },
    201,
  );
  await upload('no Origin (curl)', {}, 201);
  const search = await raw(
    'POST',
    '/api/search',
    { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' },
    JSON.stringify({ id: firstId(), k: 2 }),
  );
  assert.equal(search.status, 200, search.body);
  figures['csrf'] = { cases: cases.length + 3, crossSiteStored: 0 };
});

test('CSRF: an origin listed with --cors may write', async () => {
  const s = await startServer(lib, { port: 0, cors: ['http://ui.example'], log: () => {} });
  try {
    const { body, type } = await multipartPng(77);
    const ok = await raw(
      'POST',
      '/api/images',
      { 'content-type': type, origin: 'http://ui.example' },
      body,
      s.port,
    );
    assert.equal(ok.status, 201, ok.body);
    const no = await raw(
      'POST',
      '/api/images',
      { 'content-type': type, origin: 'http://evil.example' },
      body,
      s.port,
    );
    assert.equal(no.status, 403, no.body);
  } finally {
    await s.close();
  }
});

test('DNS rebinding: only the names the server is bound to are served', async () => {
  const port = srv.port;
  const id = firstId();
  const refused: string[] = [];
  for (const host of [
    'attacker.example',
    `attacker.example:${port}`,
    `localhost.attacker.example:${port}`,
    `127.0.0.1.nip.io:${port}`,
    `localhost:${port}@attacker.example`,
  ]) {
    for (const path of [
      '/api/images',
      `/api/images/${id}`,
      `/api/images/${id}/file`,
      `/api/images/${id}/thumbnail`,
      '/',
    ]) {
      const r = await raw('GET', path, { host });
      assert.equal(r.status, 403, `Host '${host}' ${path}: ${r.status}`);
      assert.ok(!r.body.includes(photos), `Host '${host}' ${path}: a path was sent`);
      refused.push(`${host} ${path}`);
    }
  }
  assert.match(
    errorOf(await raw('GET', '/api/health', { host: 'attacker.example' })).message,
    /--allowed-host/,
  );
  for (const host of [
    `localhost:${port}`,
    `127.0.0.1:${port}`,
    `[::1]:${port}`,
    `LOCALHOST:${port}`,
    'localhost',
    `app.localhost:${port}`,
  ])
    assert.equal((await raw('GET', '/api/health', { host })).status, 200, `Host '${host}'`);
  // --allowed-host names, and a server bound to every interface.
  const named = await startServer(lib, {
    port: 0,
    host: '0.0.0.0',
    allowedHosts: ['photos.lan'],
    log: () => {},
  });
  try {
    for (const [host, want] of [
      [`photos.lan:${named.port}`, 200],
      [`PHOTOS.LAN`, 200],
      [`evil.photos.lan:${named.port}`, 403],
      [`192.168.1.20:${named.port}`, 200],
      [`[fe80::1]:${named.port}`, 200],
      [`localhost:${named.port}`, 200],
      [`attacker.example:${named.port}`, 403],
    ] as const) {
      const r = await raw('GET', '/api/health', { host }, undefined, named.port);
      assert.equal(r.status, want, `0.0.0.0, Host '${host}': ${r.status}`);
    }
  } finally {
    await named.close();
  }
  figures['rebinding'] = { refused: refused.length, leaks: 0 };
});

test('DNS rebinding: the names a bind and --allowed-host give', async () => {
  const { hostAllowed, hostPolicy, parseHost } = await import('../../web/guards.js');
  const named = hostPolicy('nas.lan', ['.example.org', 'Photos.Lan.']);
  const allowed = (h: string) => {
    const p = parseHost(h);
    return p !== undefined && hostAllowed(named, p.name);
  };
  for (const h of ['nas.lan:8080', 'NAS.LAN', 'example.org', 'a.b.example.org:1', 'photos.lan'])
    assert.ok(allowed(h), h);
  for (const h of ['nas.lan.evil', 'evilexample.org', 'example.org.evil', 'a@nas.lan', '[::1'])
    assert.ok(!allowed(h), h);
  const wildcard = hostPolicy('0.0.0.0', ['*']);
  assert.ok(hostAllowed(wildcard, 'anything.example'));
  assert.ok(!hostAllowed(hostPolicy('0.0.0.0'), 'anything.example'));
});

// ---- 13. a link out of the roots ----------------------------------------------------------

test('a link out of the roots: no thumbnail, no metadata, no path', async () => {
  const id = idOf(join(photos, 'link-out.png'));
  assert.equal((await raw('GET', `/api/images/${id}/file`)).status, 403);
  const thumb = await raw('GET', `/api/images/${id}/thumbnail`);
  assert.equal(thumb.status, 403, 'thumbnail');
  const meta = await raw('GET', `/api/images/${id}`);
  assert.equal(meta.status, 403, `metadata: ${meta.body.slice(0, 200)}`);
  const list = JSON.parse((await raw('GET', '/api/images?limit=200')).body) as {
    images: { id: number; path: string | null }[];
  };
  assert.equal(list.images.find((i) => i.id === id)?.path, null, 'path in the listing');
  assert.ok(list.images.filter((i) => i.id !== id).every((i) => i.path !== null));
  const search = await raw(
    'POST',
    '/api/search',
    { 'content-type': 'application/json' },
    JSON.stringify({ id: firstId(), k: 20 }),
  );
  const hits = (JSON.parse(search.body) as { results: { id: number; path: string | null }[] })
    .results;
  assert.ok(
    hits.some((h) => h.id === id),
    'the image is still found',
  );
  assert.equal(hits.find((h) => h.id === id)!.path, null, 'path in search results');
  // An image inside the roots is untouched.
  const inside = idOf(join(photos, 'img-000.png'));
  assert.equal((await raw('GET', `/api/images/${inside}/thumbnail`)).status, 200);
  assert.equal((await raw('GET', `/api/images/${inside}`)).status, 200);
});

// ---- 14. smaller things -------------------------------------------------------------------

test('a bad Content-Encoding or charset is a 4xx, before the key check, with nothing logged', async () => {
  logged.length = 0;
  for (const [what, headers, want] of [
    [
      'Content-Encoding bogus',
      { 'content-type': 'application/json', 'content-encoding': 'bogus' },
      415,
    ],
    ['charset koi8-r', { 'content-type': 'application/json; charset=koi8-r' }, 415],
    ['charset nonsense', { 'content-type': 'application/json; charset=x-nonsense' }, 415],
    [
      'gzip that is not gzip',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      400,
    ],
  ] as const) {
    for (const path of ['/api/ingest', '/api/search']) {
      const r = await raw('POST', path, headers, '{"k":1}');
      assert.equal(r.status, want, `${what} on ${path}: ${r.status} ${r.body}`);
      assert.doesNotMatch(r.body, /\n\s+at /);
    }
  }
  assert.deepEqual(logged, [], 'no stack trace in the log');
});

test("a JSON body of null (or 1, or a string) is 'must be a JSON object', not 'not valid JSON'", async () => {
  for (const body of ['null', '1', '"x"', 'true']) {
    const r = await raw('POST', '/api/search', { 'content-type': 'application/json' }, body);
    assert.equal(r.status, 400, body);
    assert.match(
      errorOf(r).message,
      /^body: must be a JSON object/,
      `${body}: ${errorOf(r).message}`,
    );
  }
  const bad = await raw('POST', '/api/search', { 'content-type': 'application/json' }, '{oops');
  assert.match(errorOf(bad).message, /not valid JSON/);
});

/** `matsearch serve` with `args`; resolves with its exit, or 'served' if it got that far. */
function serveCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ exit: number | null | 'served'; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--library',
        join(dir, 'cli-lib'),
        '--model',
        modelDir,
        '--port',
        '0',
        ...args,
      ],
      {
        env: { ...process.env, MATSEARCH_RUNTIME: 'tfjs', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let served = false;
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (/serving/.test(c) && !served) {
        served = true;
        child.kill('SIGKILL');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ exit: served ? 'served' : code, stderr });
    });
  });
}

test('an empty or padded API key is refused at start, not silently off or unmatchable', async () => {
  const { createApp } = await import('../../web/app.js');
  assert.throws(() => createApp(lib, { apiKey: '' }), /API key/);
  assert.throws(() => createApp(lib, { apiKey: 'key ' }), /API key/);
  for (const [what, args, env] of [
    ['--api-key ""', ['--api-key', ''], {}],
    ['--api-key "key "', ['--api-key', 'key '], {}],
    ['MATSEARCH_API_KEY=""', [], { MATSEARCH_API_KEY: '' }],
  ] as const) {
    const r = await serveCli([...args], env);
    assert.equal(r.exit, 2, `${what}: ${r.exit} ${r.stderr}`);
    assert.match(r.stderr, /API.key|api-key/i, what);
  }
});

test('ids are plain decimal numbers: 0x10, 1e2, +1, " 1" and 1.0 are refused', async () => {
  const id = firstId();
  for (const spelled of ['0x1', '1e0', '+1', '%201', '1%20', '1.0', '0b1', '0o1', 'Infinity']) {
    for (const path of [
      `/api/images/${spelled}`,
      `/api/images/${spelled}/thumbnail`,
      `/api/jobs/${spelled}`,
    ]) {
      const r = await raw('GET', path);
      assert.equal(r.status, 400, `${path}: ${r.status}`);
    }
  }
  assert.equal(id, 1, 'the spellings above all mean an id that exists');
  const r = await raw('GET', `/api/images?limit=0x10`);
  assert.equal(r.status, 400, 'limit=0x10');
  const s = await raw(
    'POST',
    '/api/search',
    { 'content-type': 'application/json' },
    JSON.stringify({ id: '0x1' }),
  );
  assert.equal(s.status, 400, 'JSON id "0x1"');
  assert.equal((await raw('GET', `/api/images/${id}`)).status, 200);
});

test('a thumbnail whose image is deleted mid-request is a 404, not a 500', async () => {
  const id = idOf(join(photos, 'img-001.jpg'));
  const thumb = lib.thumbnailOf(id)!;
  const bytes = readFileSync(thumb);
  rmSync(thumb); // deleted between the route's check and its send: the check still sees it
  const real = fs.existsSync;
  (fs as { existsSync: typeof fs.existsSync }).existsSync = (p) => p === thumb || real(p);
  syncBuiltinESMExports();
  try {
    const r = await raw('GET', `/api/images/${id}/thumbnail`);
    assert.equal(r.status, 404, r.body);
  } finally {
    (fs as { existsSync: typeof fs.existsSync }).existsSync = real;
    syncBuiltinESMExports();
    writeFileSync(thumb, bytes); // the library checker wants it back
  }
});

test('a delete on a full disk: the image is gone and the answer says so', async () => {
  const id = idOf(join(photos, 'img-002.webp'));
  const indexDir = join(lib.dir, 'index');
  // The index temp files carry this process's pid (the index worker thread shares it).
  const links = readdirSync(indexDir)
    .filter((f) => !f.endsWith('.tmp'))
    .map((f) => join(indexDir, `${f}.${process.pid}.tmp`));
  for (const l of links) symlinkSync('/dev/full', l);
  try {
    const r = await raw('DELETE', `/api/images/${id}`);
    assert.equal(r.status, 204, `${r.status} ${r.body}`);
  } finally {
    for (const l of links) rmSync(l, { force: true });
  }
  assert.equal(lib.store.getImage(id), undefined);
  assert.equal((await raw('GET', `/api/images/${id}`)).status, 404);
  assert.ok(
    logged.some((m) => /ENOSPC|disk/.test(m)),
    'the failed save is logged',
  );
});

test("upload errors do not name the server's folders", async () => {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#468' } })
    .png()
    .toBuffer();
  const broken = Buffer.concat([png.subarray(0, 60), Buffer.alloc(200, 7)]); // header ok, data not
  const boundary = '----matsearchbroken';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="broken.png"\r\n\r\n`,
    ),
    broken,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const r = await raw(
    'POST',
    '/api/images',
    { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
  );
  assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
  assert.ok(!r.body.includes(dir) && !r.body.includes('uploads/'), r.body);
  assert.match(r.body, /broken\.png/);
  // A full disk while the upload is added (its thumbnail cannot be written).
  const { body: b2, type } = await multipartPng(199);
  const png2 = b2.subarray(b2.indexOf('\r\n\r\n') + 4, b2.lastIndexOf('\r\n--'));
  const hash = createHash('sha256').update(png2).digest('hex');
  const thumbTmp = `${thumbnailPath(lib.thumbsDir, hash)}.tmp`;
  mkdirSync(dirname(thumbTmp), { recursive: true });
  symlinkSync('/dev/full', thumbTmp);
  try {
    const full = await raw('POST', '/api/images', { 'content-type': type }, b2);
    assert.equal(full.status, 507, full.body);
    assert.ok(!full.body.includes(dir), full.body);
    assert.match(errorOf(full).message, /disk .*full/);
  } finally {
    rmSync(thumbTmp, { force: true });
  }
});

test('the library is intact after all of it', async () => {
  await srv.close();
  lib.close();
  checkLibrary(join(dir, 'lib'), embedder);
  lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  srv = await startServer(lib, { port: 0, log: () => {} });
  reportFigures('web-defaults', figures);
});
