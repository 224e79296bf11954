/**
 * The server in its default set-up (loopback, no API key) against what a web page on another
 * site can make a browser send: cross-site form and text/plain posts (CSRF), and requests for our
 * port under the attacker's host name (DNS rebinding); and what the roots hide: an image linked
 * into a root from outside it shows neither its thumbnail, nor its metadata, nor its path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from '../../web/server.js';
import { reportFigures } from './helpers.js';
import {
  checkAndRemove,
  clientOf,
  errorOf,
  multipartPng,
  servedLibrary,
  type Served,
} from './web-served.js';

let s: Served;
const { raw, firstId, idOf } = clientOf(() => s);
const figures: Record<string, unknown> = {};

before(async () => {
  s = await servedLibrary('web-defaults-');
});

after(async () => {
  if (s) await checkAndRemove(s); // the library is intact after all of it
  reportFigures('web-defaults', figures);
});

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
  assert.equal(s.lib.store.imageCount(), 5, 'nothing ingested');
});

test('CSRF: a write from another origin is refused; same origin and no Origin pass', async () => {
  const before = s.lib.store.imageCount();
  const cases: { what: string; status: number }[] = [];
  const upload = async (what: string, headers: Record<string, string>, want: number) => {
    const { body, type } = await multipartPng(cases.length + 1);
    const r = await raw('POST', '/api/images', { 'content-type': type, ...headers }, body);
    assert.equal(r.status, want, `${what}: ${r.status} ${r.body}`);
    cases.push({ what, status: r.status });
  };
  const port = s.srv.port;
  await upload('Origin of another site', { origin: 'http://evil.example' }, 403);
  await upload(
    'Origin of another port on this host',
    { origin: `http://127.0.0.1:${port + 1}` },
    403,
  );
  await upload('Origin null (sandboxed frame, file://)', { origin: 'null' }, 403);
  await upload('no Origin, but Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }, 403);
  assert.equal(s.lib.store.imageCount(), before, 'a cross-site upload was stored');
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
  const cors = await startServer(s.lib, { port: 0, cors: ['http://ui.example'], log: () => {} });
  try {
    const { body, type } = await multipartPng(77);
    const ok = await raw(
      'POST',
      '/api/images',
      { 'content-type': type, origin: 'http://ui.example' },
      body,
      cors.port,
    );
    assert.equal(ok.status, 201, ok.body);
    const no = await raw(
      'POST',
      '/api/images',
      { 'content-type': type, origin: 'http://evil.example' },
      body,
      cors.port,
    );
    assert.equal(no.status, 403, no.body);
  } finally {
    await cors.close();
  }
});

test('DNS rebinding: only the names the server is bound to are served', async () => {
  const port = s.srv.port;
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
      assert.ok(!r.body.includes(s.photos), `Host '${host}' ${path}: a path was sent`);
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
  const named = await startServer(s.lib, {
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
  const id = idOf(join(s.photos, 'link-out.png'));
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
  const inside = idOf(join(s.photos, 'img-000.png'));
  assert.equal((await raw('GET', `/api/images/${inside}/thumbnail`)).status, 200);
  assert.equal((await raw('GET', `/api/images/${inside}`)).status, 200);
});
