/**
 * A seeded fuzz of the endpoints that take input: multipart bodies (random boundaries, parts,
 * names, file names, contents, broken framing), JSON bodies, path ids and query strings, with
 * huge fields, invalid widths, k and budgets, unicode and `..` in every string. Sent byte for
 * byte over loopback (no client-side normalisation). Every answer must be a 2xx or 4xx within
 * the time bound, the server must log no internal error, stay up, and leave the library intact.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { Rng } from '../../src/util/rng.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { checkLibrary } from './check.js';
import { randomRequest, type Req } from './fuzz-inputs.js';
import { reportFigures, testEmbedder } from './helpers.js';

const KEY = 'fuzz-key';
const REQUESTS = 2000;
const PER_REQUEST_MS = 15_000;
const TOTAL_MS = 150_000;
let dir: string;
let embedder: Embedder;
let lib: Library;
let srv: RunningServer;
let photos: string;
const serverLog: string[] = [];
const files: Buffer[] = [];

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
  ({ embedder } = await testEmbedder(join(dir, 'model')));
  photos = join(dir, 'photos');
  await writeImages(photos, 8, 9);
  lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  await lib.ingest([photos]);
  srv = await startServer(lib, {
    port: 0,
    apiKey: KEY,
    roots: [photos],
    concurrency: 2,
    maxQueue: 1000, // no 503 here: the fuzz sends a few requests at a time
    limits: { maxBytes: 100_000, maxPixels: 1_000_000, maxFiles: 3 },
    log: (m) => serverLog.push(m),
  });
  const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#a0b0c0' } })
    .png()
    .toBuffer();
  const rng = new Rng(3);
  files.push(
    png,
    await sharp(png).jpeg().toBuffer(),
    png.subarray(0, 40),
    Buffer.from(Array.from({ length: 3000 }, () => rng.int(256))),
    Buffer.alloc(0),
    Buffer.alloc(150_000, 7), // over the 100 kB upload limit
    await sharp({ create: { width: 1200, height: 1200, channels: 3, background: '#000' } })
      .png()
      .toBuffer(), // over the 1 MP pixel limit
    Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
    Buffer.from('GIF89a\x01\x00\x01\x00'),
  );
});

after(async () => {
  await srv?.close();
  lib?.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `r` as is; resolves with the status, or 'reset' / 'timeout'. */
function send(r: Req): Promise<{ status: number | 'reset' | 'timeout'; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: srv.port,
        method: r.method,
        path: r.path,
        // Header values as bytes node will send (it refuses control characters and non-latin1).
        headers: {
          ...Object.fromEntries(
            Object.entries(r.headers).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '_')]),
          ),
          ...(r.body ? { 'content-length': String(r.body.length) } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
        res.on('error', () => resolve({ status: 'reset', ms: performance.now() - t0 }));
      },
    );
    req.setTimeout(PER_REQUEST_MS, () => {
      req.destroy();
      resolve({ status: 'timeout', ms: performance.now() - t0 });
    });
    req.on('error', () => resolve({ status: 'reset', ms: performance.now() - t0 }));
    req.end(r.body);
  });
}

test(`${REQUESTS} fuzzed requests: only 2xx and 4xx, no internal error, bounded time`, async () => {
  const rng = new Rng(20240607);
  const reqs = Array.from({ length: REQUESTS }, () => randomRequest(rng, files, KEY));
  const statuses = new Map<string, number>();
  const kinds = new Map<string, number>();
  const bad: string[] = [];
  let maxMs = 0;
  let resets = 0;
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < reqs.length) {
      const r = reqs[next++]!;
      const { status, ms } = await send(r);
      maxMs = Math.max(maxMs, ms);
      kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
      statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
      if (status === 'reset') {
        // Only acceptable as the server refusing an oversized body before reading it all.
        resets++;
        if ((r.body?.length ?? 0) < 64_000)
          bad.push(`${r.kind} ${r.method} ${r.path.slice(0, 80)}: reset`);
      } else if (status === 'timeout' || status < 200 || status >= 500)
        bad.push(`${r.kind} ${r.method} ${r.path.slice(0, 80)}: ${status}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  assert.deepEqual(bad, [], `requests answered outside 2xx/4xx:\n${bad.join('\n')}`);
  assert.deepEqual(serverLog, [], 'the server logged internal errors');
  assert.ok(seconds * 1000 < TOTAL_MS, `took ${seconds} s`);
  const health = await send({ kind: 'health', method: 'GET', path: '/api/health', headers: {} });
  assert.equal(health.status, 200, 'the server is still up');
  // Wait out any ingest the fuzz started, then check the library.
  await srv.close();
  lib.close();
  const snap = checkLibrary(join(dir, 'lib'), embedder);
  lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  reportFigures('fuzz-api', {
    requests: REQUESTS,
    seconds: Number(seconds.toFixed(1)),
    maxLatencyMs: Math.round(maxMs),
    statuses: Object.fromEntries([...statuses].sort()),
    byEndpoint: Object.fromEntries(kinds),
    resetsOnOversizedBodies: resets,
    fiveHundreds: 0,
    imagesAfter: snap.images,
  });
});
