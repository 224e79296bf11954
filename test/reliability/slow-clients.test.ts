/**
 * Slow clients (slowloris): connections that send their request a byte at a time must neither
 * hold the search slots nor stay open past the server's body timeout, and a normal search sent
 * meanwhile is answered at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { reportFigures, testEmbedder } from './helpers.js';

const BODY_TIMEOUT_MS = 1500;
let dir: string;
let embedder: Embedder;
let lib: Library;
let srv: RunningServer;
let query: Buffer;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'slow-clients-'));
  ({ embedder } = await testEmbedder(join(dir, 'model')));
  const files = await writeImages(join(dir, 'photos'), 6, 5);
  query = readFileSync(files[0]!);
  lib = Library.open(join(dir, 'lib'), { embedder, log: () => {} });
  await lib.ingest([join(dir, 'photos')]);
  srv = await startServer(lib, {
    port: 0,
    concurrency: 2,
    log: () => {},
    timeouts: { headersMs: BODY_TIMEOUT_MS, requestMs: BODY_TIMEOUT_MS, checkEveryMs: 250 },
  });
});

after(async () => {
  await srv?.close(100);
  lib?.close();
  await embedder?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A multipart search whose body trickles in, one byte every `everyMs`, for at most `forMs`
 * (then the rest at once). Resolves when the server answers or drops the connection.
 */
function slowSearch(everyMs: number, forMs: number) {
  const boundary = 'slowslowslow';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="q.png"\r\n` +
        `Content-Type: image/png\r\n\r\n`,
    ),
    query,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const url = new URL(srv.url);
  const sock: Socket = connect(Number(url.port), url.hostname);
  const t0 = performance.now();
  let sent = 0;
  let reply = '';
  sock.setEncoding('utf8');
  let answered: (() => void) | undefined;
  sock.on('data', (c: string) => {
    reply += c;
    answered?.();
  });
  sock.on('error', () => {});
  sock.write(
    `POST /api/search HTTP/1.1\r\nHost: ${url.host}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
  );
  const timer = setInterval(() => {
    if (sock.destroyed) return clearInterval(timer);
    if (performance.now() - t0 > forMs) {
      clearInterval(timer);
      sock.write(body.subarray(sent));
      sent = body.length;
      return;
    }
    sock.write(body.subarray(sent, sent + 1));
    sent++;
  }, everyMs);
  // Ended at the first byte of an answer, or when the connection is dropped.
  const ended = new Promise<{ ms: number; at: number; reply: string }>((resolve) => {
    const end = () => {
      clearInterval(timer);
      resolve({ ms: performance.now() - t0, at: performance.now(), reply });
      sock.destroy();
    };
    answered = end;
    sock.once('close', end);
  });
  return { sock, ended };
}

async function normalSearch(): Promise<number> {
  const f = new FormData();
  f.append('image', new Blob([new Uint8Array(query)]), 'q.png');
  const res = await fetch(`${srv.url}/api/search`, { method: 'POST', body: f });
  await res.arrayBuffer();
  return res.status;
}

test('two slow uploads do not hold the search slots: a normal search is answered meanwhile', async () => {
  // They would finish on their own after 8 s; the body timeout cuts them off first.
  const slow = [slowSearch(200, 8000), slowSearch(200, 8000)];
  await new Promise((r) => setTimeout(r, 400)); // both are in, trickling
  const t0 = performance.now();
  let normalDone = Infinity;
  const status = await normalSearch().then((s) => ((normalDone = performance.now()), s));
  const ends = await Promise.all(slow.map((s) => s.ended));
  assert.equal(status, 200);
  for (const e of ends) {
    // Answered (or dropped) after the normal search: they did not make it wait.
    assert.ok(normalDone < e.at, 'the normal search waited for a slow client');
  }
  reportFigures('slow-clients', {
    slowClients: slow.length,
    bodyTimeoutMs: BODY_TIMEOUT_MS,
    normalSearchMs: Math.round(normalDone - t0),
    slowClientsCutAfterMs: ends.map((e) => Math.round(e.ms)),
    slowReplies: ends.map((e) => e.reply.split('\r\n')[0] || '(connection closed)'),
  });
});

test('a client that trickles its body is cut off by the body timeout, not served after it', async () => {
  const s = slowSearch(200, 12_000);
  const e = await s.ended;
  // The server ends it (408 or a close) well before the client would have finished on its own.
  assert.ok(e.ms < 8_000, `the slow client was held for ${e.ms} ms`);
  assert.doesNotMatch(e.reply, /^HTTP\/1\.1 200/);
});
