/**
 * The REST API over real HTTP on loopback: every route, validation errors that name the field,
 * the API key on write routes, the 503 queue bound, path traversal on the file route, content
 * sniffing of uploads, and the OpenAPI document. A small random encoder keeps it fast.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { loadModel } from '../../src/model/weights.js';
import { ROUTES } from '../../web/openapi.js';
import * as S from '../../web/schemas.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';
import { delayed } from '../reliability/helpers.js';

const KEY = 'test-key-123';
let dir: string;
let photos: string;
let files: string[];
let lib: Library;
let srv: RunningServer;
/** Extra latency per embed call, to hold requests in flight. */
let delayMs = 0;

const idOf = (path: string) => lib.store.findPath(path)!.imageId;

async function call(path: string, init: RequestInit = {}, base = srv.url) {
  const res = await fetch(base + path, init);
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await res.json() : await res.text();
  return { status: res.status, headers: res.headers, body };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

function form(fields: Record<string, string>, images: { bytes: Buffer; name: string }[] = []) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const im of images) f.append('image', new Blob([new Uint8Array(im.bytes)]), im.name);
  return f;
}

const imageOf = (path: string) => ({ bytes: readFileSync(path), name: path.split('/').pop()! });

/** A request sent byte for byte (fetch would normalise `..` away). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function assertFieldError(r: { status: number; body: unknown }, status: number, field: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const e = (r.body as { error: { field?: string; message: string } }).error;
  assert.equal(e.field, field, e.message);
  assert.ok(e.message.startsWith(`${field}: `), e.message);
}

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'api-'));
  const modelDir = saveTestModel(join(dir, 'model'));
  photos = join(dir, 'photos');
  files = await writeImages(photos, 8, 3);
  // A link inside the root that leads to a file outside it.
  const [secret] = await writeImages(join(dir, 'outside'), 1, 99, 'secret');
  symlinkSync(secret!, join(photos, 'link.png'));
  const { model, modelId } = loadModel(modelDir);
  lib = Library.open(join(dir, 'lib'), {
    embedder: delayed(await TfjsEmbedder.create(model, modelId), () => delayMs),
    log: () => {},
  });
  await lib.ingest([photos]);
  srv = await startServer(lib, {
    port: 0,
    apiKey: KEY,
    roots: [photos],
    limits: { maxBytes: 100_000, maxPixels: 1_000_000, maxFiles: 3 },
    log: () => {},
  });
});

after(async () => {
  await srv.close();
  await lib.embedder.close();
  lib.close();
  rmSync(dir, { recursive: true, force: true });
});

test('binds loopback; health, stats and the OpenAPI document', async () => {
  assert.equal(srv.host, '127.0.0.1');
  const h = await call('/api/health');
  assert.equal(h.status, 200);
  S.HealthResponse.parse(h.body);
  assert.equal(h.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(h.headers.get('access-control-allow-origin'), null); // CORS off by default

  const s = await call('/api/stats');
  assert.equal(s.status, 200);
  const stats = S.StatsResponse.parse(s.body);
  assert.equal(stats.images, 9);
  assert.equal(stats.index.size, 9);

  const doc = await call('/api/openapi.json');
  assert.equal(doc.status, 200);
  const d = doc.body as {
    openapi: string;
    paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
    components: { schemas: Record<string, unknown> };
  };
  assert.equal(d.openapi, '3.1.0');
  for (const r of ROUTES) assert.ok(d.paths[r.path]?.[r.method], `${r.method} ${r.path}`);
  for (const p of ['/api/search', '/api/images/{id}/file', '/api/jobs/{id}', '/metrics'])
    assert.ok(d.paths[p], p);
  const similar = d.paths['/api/images/{id}/similar']!['get']!.parameters!.map((p) => p.name);
  assert.deepEqual(similar.sort(), ['id', 'k', 'min_score', 'rerank', 'shortlist']);
  for (const name of ['SearchResponse', 'SearchHit', 'Error', 'Job', 'ImageDetail'])
    assert.ok(d.components.schemas[name], name);
  // The committed copy is the generated one (regenerate: matsearch serve --openapi >
  // docs/openapi.json, then prettier --write it).
  const committed = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));
  assert.deepEqual(JSON.parse(readFileSync(committed, 'utf8')), doc.body);

  const none = await call('/api/nothing-here');
  assert.equal(none.status, 404);
  assert.equal((none.body as { error: { code: string } }).error.code, 'E_NOT_FOUND');
});

test('search by upload and by id, thumbnails, similar', async () => {
  const r = await call('/api/search', {
    method: 'POST',
    body: form({ k: '3', width: '1/4' }, [imageOf(files[3]!)]),
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const res = S.SearchResponse.parse(r.body);
  assert.equal(res.results.length, 3);
  assert.equal(res.results[0]!.id, idOf(files[3]!));
  // One encode at 1/4, whose vector also gives the exact rerank; no refine pass unless asked.
  assert.deepEqual(res.widths, { query: '1/4', rerank: '1/4' });
  assert.equal(res.refined, false);
  assert.equal(res.timings_ms.refine_encode, 0);
  assert.equal(res.deduped, 0); // distinct images: no near-duplicate left out
  for (const t of Object.values(res.timings_ms)) assert.ok(t >= 0);
  assert.ok(res.timings_ms.total >= res.timings_ms.encode);

  const refined = await call('/api/search', {
    method: 'POST',
    body: form({ k: '3', width: '1/4', refine: 'true' }, [imageOf(files[3]!)]),
  });
  assert.equal(refined.status, 200, JSON.stringify(refined.body));
  const rf = S.SearchResponse.parse(refined.body);
  assert.deepEqual(rf.widths, { query: '1/4', rerank: '1' });
  assert.equal(rf.refined, true);
  assert.ok(rf.timings_ms.refine_encode > 0);
  assert.equal(rf.timings_ms.encode, 0, 'the same image at 1/4 again is not re-encoded');

  const thumb = await fetch(srv.url + res.results[0]!.thumbnail_url);
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
  const jpeg = Buffer.from(await thumb.arrayBuffer());
  assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
  // A library made by an earlier version has WebP thumbnails: served as such.
  const hit = res.results[0]!;
  const jpegPath = lib.thumbnailOf(hit.id)!;
  const webpPath = jpegPath.replace(/\.jpg$/, '.webp');
  await sharp(jpeg).webp().toFile(webpPath);
  rmSync(jpegPath);
  try {
    const old = await fetch(srv.url + hit.thumbnail_url);
    assert.equal(old.headers.get('content-type'), 'image/webp');
    const bytes = Buffer.from(await old.arrayBuffer());
    assert.equal(bytes.subarray(8, 12).toString('latin1'), 'WEBP');
  } finally {
    await sharp(webpPath).jpeg().toFile(jpegPath);
    rmSync(webpPath);
  }

  const noRerank = await call('/api/search', {
    method: 'POST',
    body: form({ width: '1/8', rerank: 'none', min_score: '-1' }, [imageOf(files[0]!)]),
  });
  assert.equal(noRerank.status, 200);
  assert.equal(S.SearchResponse.parse(noRerank.body).widths.rerank, null);

  const auto = await call('/api/search', {
    method: 'POST',
    body: form({ width: 'auto', budget_ms: '10000', k: '2' }, [imageOf(files[1]!)]),
  });
  assert.equal(auto.status, 200, JSON.stringify(auto.body));
  assert.equal(S.SearchResponse.parse(auto.body).widths.query, '1');

  const byId = await call('/api/search', json({ id: idOf(files[2]!), k: 4 }));
  assert.equal(byId.status, 200, JSON.stringify(byId.body));
  const b = S.SearchResponse.parse(byId.body);
  assert.equal(b.widths.query, 'stored');
  assert.ok(b.results.every((h) => h.id !== idOf(files[2]!)));

  const sim = await call(`/api/images/${idOf(files[2]!)}/similar?k=2&rerank=full`);
  assert.equal(sim.status, 200);
  const s = S.SearchResponse.parse(sim.body);
  assert.equal(s.results.length, 2);
  assert.deepEqual(
    s.results.map((h) => h.id),
    b.results.slice(0, 2).map((h) => h.id),
  );
  assert.equal((await call('/api/images/99999/similar')).status, 404);
  assert.equal((await call('/api/search', json({ id: 99999 }))).status, 404);
});

test('bad requests get a 400 that names the field', async () => {
  const img = [imageOf(files[0]!)];
  const post = (fields: Record<string, string>, images = img) =>
    call('/api/search', { method: 'POST', body: form(fields, images) });
  assertFieldError(await post({ k: '0' }), 400, 'k');
  assertFieldError(await post({ k: 'ten' }), 400, 'k');
  assertFieldError(await post({ k: '2.5' }), 400, 'k');
  assertFieldError(await post({ width: '1/3' }), 400, 'width');
  assertFieldError(await post({ width: 'auto' }), 400, 'budget_ms');
  assertFieldError(await post({ rerank: 'sometimes' }), 400, 'rerank');
  assertFieldError(await post({ refine: 'maybe' }), 400, 'refine');
  assertFieldError(await post({ min_score: '2' }), 400, 'min_score');
  assertFieldError(await post({ colour: 'red' }), 400, 'colour');
  assertFieldError(await post({ k: '3' }, []), 400, 'image');
  assertFieldError(await post({}, [...img, ...img]), 400, 'image');
  assertFieldError(await call('/api/search', { method: 'POST', body: 'hello' }), 400, 'image');
  assertFieldError(
    await call('/api/search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id": 1,',
    }),
    400,
    'body',
  );
  assertFieldError(await call('/api/search', json({ id: 'one' })), 400, 'id');
  assertFieldError(await call('/api/search', json({ k: 3 })), 400, 'id');
  assertFieldError(await call('/api/search', json({ id: 1, k: 5000 })), 400, 'k');
  assertFieldError(await call('/api/images/1/similar?k=-1'), 400, 'k');
  assertFieldError(await call('/api/images/1/similar?width=1'), 400, 'width');
  assertFieldError(await call('/api/images/abc'), 400, 'id');
  assertFieldError(await call('/api/images?cursor=xyz'), 400, 'cursor');
  assertFieldError(await call('/api/images?limit=0'), 400, 'limit');
  assertFieldError(await call('/api/jobs/x'), 400, 'id');
});

test('uploads are judged by content and by size', async () => {
  const text = { bytes: Buffer.from('#!/bin/sh\necho not an image\n'), name: 'cat.png' };
  const r = await call('/api/search', { method: 'POST', body: form({}, [text]) });
  assertFieldError(r, 415, 'image');
  assert.match((r.body as { error: { message: string } }).error.message, /cat\.png is not a/);
  const svg = { bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), name: 'a.jpg' };
  assertFieldError(
    await call('/api/search', { method: 'POST', body: form({}, [svg]) }),
    415,
    'image',
  );
  const headers = { authorization: `Bearer ${KEY}` };
  assertFieldError(
    await call('/api/images', { method: 'POST', headers, body: form({}, [text]) }),
    415,
    'image',
  );
  // 1400 x 1400 = 2 MP, over the 1 MP limit: refused from its header.
  const big = await sharp({
    create: { width: 1400, height: 1400, channels: 3, background: '#808080' },
  })
    .png()
    .toBuffer();
  const px = await call('/api/search', {
    method: 'POST',
    body: form({}, [{ bytes: big, name: 'big.png' }]),
  });
  assertFieldError(px, 413, 'image');
  assert.match((px.body as { error: { message: string } }).error.message, /1400x1400 = 2\.0 MP/);
  const noise = await sharp(randomBytes(300 * 300 * 3), {
    raw: { width: 300, height: 300, channels: 3 },
  })
    .png()
    .toBuffer();
  assert.ok(noise.length > 100_000);
  const bytes = await call('/api/search', {
    method: 'POST',
    body: form({}, [{ bytes: noise, name: 'noise.png' }]),
  });
  assertFieldError(bytes, 413, 'image');
  // BMP is an accepted format: its header is read by our own decoder (libvips has no BMP
  // loader), so a BMP query is answered, not refused as unreadable.
  const bmp = imageOf(
    fileURLToPath(new URL('../../../test/ingest/bmp/rgb24.bmp', import.meta.url)),
  );
  const ok = await call('/api/search', { method: 'POST', body: form({ k: '2' }, [bmp]) });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal((ok.body as { results: unknown[] }).results.length, 2);
});

test('browse with a cursor; metadata; delete needs the key', async () => {
  const seen: number[] = [];
  let cursor: string | null = '';
  let pages = 0;
  while (cursor !== null) {
    const r = await call(`/api/images?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    const page = S.ImagePage.parse(r.body);
    assert.ok(page.images.length <= 4);
    seen.push(...page.images.map((i) => i.id));
    cursor = page.next_cursor;
    pages++;
  }
  assert.equal(pages, 3);
  assert.equal(seen.length, lib.stats().images);
  assert.deepEqual(
    seen,
    [...seen].sort((a, b) => a - b),
  );

  const id = idOf(files[5]!);
  const m = await call(`/api/images/${id}`);
  assert.equal(m.status, 200);
  const meta = S.ImageDetail.parse(m.body);
  assert.deepEqual(meta.paths, [files[5]]);
  assert.deepEqual(meta.vectors, [{ width: '1' }]);
  assert.match(meta.hash, /^[0-9a-f]{64}$/);
  assert.equal(meta.format, 'webp'); // files[5] is a WebP
  assert.equal((await call('/api/images/99999')).status, 404);
  assert.equal((await call('/api/images/99999/thumbnail')).status, 404);

  const noKey = await call(`/api/images/${id}`, { method: 'DELETE' });
  assert.equal(noKey.status, 401);
  assert.match(noKey.headers.get('www-authenticate') ?? '', /Bearer/);
  const wrong = await call(`/api/images/${id}`, {
    method: 'DELETE',
    headers: { 'x-api-key': 'nope' },
  });
  assert.equal(wrong.status, 401);
  const del = await call(`/api/images/${id}`, { method: 'DELETE', headers: { 'x-api-key': KEY } });
  assert.equal(del.status, 204);
  assert.equal((await call(`/api/images/${id}`)).status, 404);
  assert.equal(
    (await call(`/api/images/${id}`, { method: 'DELETE', headers: { 'x-api-key': KEY } })).status,
    404,
  );
  assert.ok(existsSync(files[5]!), 'the file on disk is untouched');
});

test('originals are served only from inside the roots', async () => {
  const id = idOf(files[0]!);
  const ok = await fetch(`${srv.url}/api/images/${id}/file`);
  assert.equal(ok.status, 200);
  assert.deepEqual(Buffer.from(await ok.arrayBuffer()), readFileSync(files[0]!));
  assert.match(ok.headers.get('content-security-policy') ?? '', /sandbox/);

  // A symlink inside the root that leads outside it.
  const link = await call(`/api/images/${idOf(join(photos, 'link.png'))}/file`);
  assert.equal(link.status, 403, JSON.stringify(link.body));
  // An image ingested from a folder that is not a served root.
  const elsewhere = join(dir, 'elsewhere');
  const [other] = await writeImages(elsewhere, 1, 77, 'other');
  await lib.ingest([elsewhere]);
  assert.equal((await call(`/api/images/${idOf(other!)}/file`)).status, 403);
  // A file gone from disk.
  const [gone] = await writeImages(join(photos, 'sub'), 1, 55, 'gone');
  await lib.ingest([photos]);
  const goneId = idOf(gone!);
  rmSync(gone!);
  assert.equal((await call(`/api/images/${goneId}/file`)).status, 404);

  // Traversal through the URL: never a file, never anything but a 400 or 404.
  for (const path of [
    '/api/images/..%2F..%2F..%2Fetc%2Fpasswd/file',
    '/api/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd/file',
    '/api/images/%2Fetc%2Fpasswd/file',
    '/api/images/..%5C..%5Cetc%5Cpasswd/file',
    '/api/images/../../../../etc/passwd',
    `/api/images/${id}/file/../../../../../etc/passwd`,
    `/api/images/${id}%2F..%2F..%2Fetc%2Fpasswd/file`,
    '/api/images/%252e%252e%252fetc%252fpasswd/file',
    '/api/images//etc/passwd/file',
    `/api/images/${id}/file?path=/etc/passwd`,
  ]) {
    const r = await rawGet(path);
    if (path.endsWith('?path=/etc/passwd')) {
      // Unknown query parameters change nothing: the image's own file is sent.
      assert.equal(r.status, 200, path);
      assert.ok(!r.body.includes('root:'), path);
      continue;
    }
    assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
    assert.ok(!r.body.includes('root:'), path);
  }
});

test('upload and ingest into the library; write routes need the key', async () => {
  const [fresh] = await writeImages(join(dir, 'to-upload'), 1, 1234, 'fresh');
  const body = () => form({}, [imageOf(fresh!), imageOf(files[1]!)]);
  assert.equal((await call('/api/images', { method: 'POST', body: body() })).status, 401);
  const up = await call('/api/images', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}` },
    body: body(),
  });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const u = S.UploadResponse.parse(up.body);
  assert.deepEqual(
    u.images.map((x) => x.status),
    ['added', 'known'],
  );
  const newId = u.images[0]!.id!;
  assert.equal(u.images[1]!.id, idOf(files[1]!));
  const meta = S.ImageDetail.parse((await call(`/api/images/${newId}`)).body);
  assert.ok(meta.paths[0]!.startsWith(join(lib.dir, 'uploads')), meta.paths[0]);
  const served = await fetch(`${srv.url}/api/images/${newId}/file`);
  assert.equal(served.status, 200);
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), readFileSync(fresh!));
  const found = await call('/api/search', {
    method: 'POST',
    body: form({ k: '1' }, [imageOf(fresh!)]),
  });
  assert.equal(S.SearchResponse.parse(found.body).results[0]!.id, newId);

  const four = form({}, [
    imageOf(files[0]!),
    imageOf(files[1]!),
    imageOf(files[2]!),
    imageOf(files[3]!),
  ]);
  assertFieldError(
    await call('/api/images', { method: 'POST', headers: { 'x-api-key': KEY }, body: four }),
    400,
    'image',
  );

  const del = await call(`/api/images/${newId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${KEY}` },
  });
  assert.equal(del.status, 204);
  assert.ok(!existsSync(meta.paths[0]!), "the upload's copy goes with it");
});

test('background ingest with job progress; writes wait their turn with 409', async () => {
  const added = await writeImages(join(photos, 'new'), 3, 4321, 'new');
  assert.equal((await call('/api/ingest', json({}))).status, 401);
  assertFieldError(
    await call('/api/ingest', json({ root: '/etc' }, { 'x-api-key': KEY })),
    400,
    'root',
  );
  assertFieldError(
    await call('/api/ingest', json({ width: '1/3' }, { 'x-api-key': KEY })),
    400,
    'width',
  );
  assertFieldError(
    await call('/api/ingest', json({ prune: 'maybe' }, { 'x-api-key': KEY })),
    400,
    'prune',
  );
  delayMs = 300;
  try {
    const start = await call('/api/ingest', json({ root: photos }, { 'x-api-key': KEY }));
    assert.equal(start.status, 202, JSON.stringify(start.body));
    const job = S.JobResponse.parse(start.body);
    assert.equal(start.headers.get('location'), `/api/jobs/${job.id}`);
    // While it runs, other writes are refused with a message saying why.
    const again = await call('/api/ingest', json({}, { 'x-api-key': KEY }));
    assert.equal(again.status, 409);
    const upload = await call('/api/images', {
      method: 'POST',
      headers: { 'x-api-key': KEY },
      body: form({}, [imageOf(files[0]!)]),
    });
    assert.equal(upload.status, 409);
    assert.match((upload.body as { error: { message: string } }).error.message, /ingest job/);
    let state = job.state;
    let last = job;
    for (let i = 0; i < 200 && (state === 'queued' || state === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      last = S.JobResponse.parse((await call(`/api/jobs/${job.id}`)).body);
      state = last.state;
    }
    assert.equal(state, 'done', JSON.stringify(last));
    assert.equal(last.summary?.['added'], 3);
    assert.equal(last.done, last.total);
  } finally {
    delayMs = 0;
  }
  for (const f of added) assert.ok(lib.store.findPath(f));
  const list = await call('/api/jobs');
  assert.equal(list.status, 200);
  assert.equal((list.body as { jobs: unknown[] }).jobs.length, 1);
  assert.equal((await call('/api/jobs/999')).status, 404);
});

test('metrics: requests per route, search latency per width, index size, ingest progress', async () => {
  const r = await fetch(`${srv.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  assert.match(text, /^# TYPE matsearch_http_requests_total counter$/m);
  assert.match(
    text,
    /^matsearch_http_requests_total\{method="POST",route="\/api\/search",status="200"\} \d+$/m,
  );
  assert.match(
    text,
    /^matsearch_http_requests_total\{method="GET",route="\/api\/images\/:id",status="404"\} \d+$/m,
  );
  assert.match(
    text,
    /^matsearch_http_request_duration_seconds_bucket\{method="GET",route="\/api\/images\/:id\/similar",le="\+Inf"\} \d+$/m,
  );
  // Two searches at 1/4, one of them refined: the refine pass is its own stage.
  assert.match(text, /^matsearch_search_duration_seconds_count\{width="1\/4",stage="encode"\} 2$/m);
  assert.match(
    text,
    /^matsearch_search_duration_seconds_count\{width="1\/4",stage="refine_encode"\} 1$/m,
  );
  assert.match(
    text,
    /^matsearch_search_duration_seconds_sum\{width="stored",stage="total"\} [\d.e-]+$/m,
  );
  assert.match(text, /^matsearch_index_size\{kind="[a-z]+"\} \d+$/m);
  assert.match(text, /^matsearch_ingest_files_done \d+$/m);
  assert.match(text, /^matsearch_queue_rejected_total\{queue="searches"\} \d+$/m);
  // Every sample line is "name{labels} value".
  for (const line of text.trim().split('\n'))
    if (!line.startsWith('#')) assert.match(line, /^[a-z_]+(\{[^}]*\})? [-+\d.eInfNa]+$/, line);
});

test('a bounded queue: beyond it, 503 with Retry-After; CORS only for the listed origin', async () => {
  const busy = await startServer(lib, {
    port: 0,
    concurrency: 1,
    maxQueue: 1,
    cors: ['http://ui.example'],
    log: () => {},
  });
  delayMs = 300;
  try {
    const rs = await Promise.all(
      Array.from({ length: 5 }, () =>
        call('/api/search', { method: 'POST', body: form({}, [imageOf(files[0]!)]) }, busy.url),
      ),
    );
    const codes = rs.map((r) => r.status).sort();
    assert.ok(codes.filter((c) => c === 200).length >= 1, String(codes));
    assert.ok(codes.filter((c) => c === 503).length >= 1, String(codes));
    assert.equal(codes.filter((c) => c !== 200 && c !== 503).length, 0, String(codes));
    for (const r of rs.filter((x) => x.status === 503)) {
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.equal((r.body as { error: { code: string } }).error.code, 'E_BUSY');
    }
  } finally {
    delayMs = 0;
  }
  const pre = await fetch(`${busy.url}/api/search`, {
    method: 'OPTIONS',
    headers: { origin: 'http://ui.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'http://ui.example');
  const stranger = await fetch(`${busy.url}/api/health`, {
    headers: { origin: 'http://evil.example' },
  });
  assert.equal(stranger.headers.get('access-control-allow-origin'), null);
  await busy.close();
  await assert.rejects(fetch(`${busy.url}/api/health`));
});

test('a stopped library answers 503, not a crash', async () => {
  const other = mkdtempSync(join(tmpdir(), 'api-closed-'));
  mkdirSync(other, { recursive: true });
  const closed = Library.open(join(other, 'lib'), { embedder: lib.embedder, log: () => {} });
  const s = await startServer(closed, { port: 0, log: () => {} });
  closed.close();
  const r = await call('/api/health', {}, s.url);
  assert.equal(r.status, 503);
  assert.equal((r.body as { error: { code: string } }).error.code, 'E_NOT_OPEN');
  await s.close();
  rmSync(other, { recursive: true, force: true });
});
