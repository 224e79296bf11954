/**
 * The small ways requests used to get a 500 or a wrong answer: body encodings and charsets, a
 * JSON `null`, an empty or padded API key, ids spelled `0x10` or `1e2`, a thumbnail whose image
 * is deleted mid-request, a delete on a full disk, and upload errors that named the server's
 * folders. A full disk is real ENOSPC: a link to /dev/full at the temp name a write goes to.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs, {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { thumbnailPath } from '../../ingest/pipeline.js';
import {
  checkAndRemove,
  clientOf,
  errorOf,
  multipartPng,
  servedLibrary,
  type Served,
} from './web-served.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let s: Served;
const { raw, firstId, idOf } = clientOf(() => s);

before(async () => {
  s = await servedLibrary('web-edges-');
});

after(async () => {
  if (s) await checkAndRemove(s); // the library is intact after all of it
});

// ---- 14. smaller things -------------------------------------------------------------------

test('a bad Content-Encoding or charset is a 4xx, before the key check, with nothing logged', async () => {
  s.logged.length = 0;
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
  assert.deepEqual(s.logged, [], 'no stack trace in the log');
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
        join(s.dir, 'cli-lib'),
        '--model',
        s.modelDir,
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
  assert.throws(() => createApp(s.lib, { apiKey: '' }), /API key/);
  assert.throws(() => createApp(s.lib, { apiKey: 'key ' }), /API key/);
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
  const id = idOf(join(s.photos, 'img-001.jpg'));
  const thumb = s.lib.thumbnailOf(id)!;
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
  const id = idOf(join(s.photos, 'img-002.webp'));
  const indexDir = join(s.lib.dir, 'index');
  // The index temp files carry this process's pid (the index worker thread shares it).
  const links = readdirSync(indexDir)
    .filter((f) => !f.endsWith('.tmp'))
    .map((f) => join(indexDir, `${f}.${process.pid}.tmp`));
  for (const l of links) symlinkSync('/dev/full', l);
  try {
    const r = await raw('DELETE', `/api/images/${id}`);
    assert.equal(r.status, 204, `${r.status} ${r.body}`);
    // The index is saved in its worker, in the background: keep the disk full until that save
    // has failed (and been logged), for at most 10 s.
    const t0 = Date.now();
    while (!s.logged.some((m) => /ENOSPC|disk/.test(m)) && Date.now() - t0 < 10_000)
      await new Promise((r) => setTimeout(r, 20));
  } finally {
    for (const l of links) rmSync(l, { force: true });
  }
  assert.equal(s.lib.store.getImage(id), undefined);
  assert.equal((await raw('GET', `/api/images/${id}`)).status, 404);
  assert.ok(
    s.logged.some((m) => /ENOSPC|disk/.test(m)),
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
  assert.ok(!r.body.includes(s.dir) && !r.body.includes('uploads/'), r.body);
  assert.match(r.body, /broken\.png/);
  // A full disk while the upload is added (its thumbnail cannot be written).
  const { body: b2, type } = await multipartPng(199);
  const png2 = b2.subarray(b2.indexOf('\r\n\r\n') + 4, b2.lastIndexOf('\r\n--'));
  const hash = createHash('sha256').update(png2).digest('hex');
  const thumbTmp = `${thumbnailPath(s.lib.thumbsDir, hash)}.tmp`;
  mkdirSync(dirname(thumbTmp), { recursive: true });
  symlinkSync('/dev/full', thumbTmp);
  try {
    const full = await raw('POST', '/api/images', { 'content-type': type }, b2);
    assert.equal(full.status, 507, full.body);
    assert.ok(!full.body.includes(s.dir), full.body);
    assert.match(errorOf(full).message, /disk .*full/);
  } finally {
    rmSync(thumbTmp, { force: true });
  }
});
