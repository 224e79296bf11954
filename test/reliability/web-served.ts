/**
 * The served library of the web reliability tests: a few images under one root plus a link in
 * it to a file outside, the index in a worker thread as `matsearch serve` keeps it, and a server
 * in this process that logs into `logged`; and requests sent exactly as written (any Host,
 * Origin or Content-Encoding), which fetch would not allow.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { checkLibrary } from './check.js';
import { testEmbedder } from './helpers.js';

export interface Served {
  readonly dir: string;
  readonly modelDir: string;
  readonly embedder: Embedder;
  readonly photos: string;
  /** What the library and the server logged. */
  readonly logged: string[];
  lib: Library;
  srv: RunningServer;
}

/** Four images in `photos/` and `photos/link-out.png`, a link to a file outside it. */
export async function servedLibrary(prefix: string): Promise<Served> {
  await setup();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const { modelDir, embedder } = await testEmbedder(join(dir, 'model'));
  const photos = join(dir, 'photos');
  await writeImages(photos, 4, 11);
  const [secret] = await writeImages(join(dir, 'outside'), 1, 12, 'secret');
  symlinkSync(secret!, join(photos, 'link-out.png')); // inside the root, its file outside
  const logged: string[] = [];
  const log = (m: string) => logged.push(m);
  const lib = Library.open(join(dir, 'lib'), { embedder, index: { thread: 'worker' }, log });
  await lib.ingest([photos]);
  const srv = await startServer(lib, { port: 0, roots: [photos], log });
  return { dir, modelDir, embedder, photos, logged, lib, srv };
}

/** Stops the server, checks the library is intact (test/reliability/check.ts), removes it all. */
export async function checkAndRemove(s: Served): Promise<void> {
  await s.srv.close();
  s.lib.close();
  try {
    checkLibrary(join(s.dir, 'lib'), s.embedder);
  } finally {
    await s.embedder.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

export interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request to 127.0.0.1:`port` sent as written. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
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

/** Requests to the served library `get()` returns (another port with `port`); its ids by path. */
export function clientOf(get: () => Served) {
  return {
    raw: (
      method: string,
      path: string,
      headers: Record<string, string> = {},
      body?: Buffer | string,
      port = get().srv.port,
    ) => rawRequest(port, method, path, headers, body),
    firstId: () => get().lib.store.listImages(0, 1)[0]!.id,
    idOf: (path: string) => get().lib.store.findPath(path)!.imageId,
  };
}

export const errorOf = (r: Raw) =>
  (JSON.parse(r.body) as { error: { code: string; message: string } }).error;

/** A multipart body with one small PNG in the field `image` (distinct per `seed`). */
export async function multipartPng(seed: number): Promise<{ body: Buffer; type: string }> {
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
