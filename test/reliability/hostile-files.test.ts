/**
 * Hostile files (test/reliability/hostile.ts) ingested in a child process: each one must become a
 * recorded error or a correct embedding (the embedding of its plain 8-bit sRGB equivalent, EXIF
 * orientation applied), never a crash or a hang; no SVG may fetch a URL or read a local file;
 * and a decode that overruns the per-file timeout is recorded as that file's error.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { preprocessImage } from '../../src/runtime/preprocess.js';
import { Store } from '../../src/store/store.js';
import { thumbnailPath } from '../../ingest/thumbs.js';
import { setup } from '../helpers.js';
import { checkLibrary } from './check.js';
import { Child, reportFigures, script, testEmbedder } from './helpers.js';
import { hostileRasters, hostileSvgs, type HostileFile } from './hostile.js';

const BOUND_S = 120; // the whole corpus, in a child on a busy machine
let dir: string;
let modelDir: string;
let embedder: Embedder;
let server: Server;
const requests: string[] = [];
let corpus: HostileFile[];
const figures: Record<string, unknown> = {};

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'hostile-'));
  ({ modelDir, embedder } = await testEmbedder(join(dir, 'model')));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/png' }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const red = join(dir, 'red.png');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff0000' } })
    .png()
    .toFile(red);
  corpus = [...(await hostileRasters(77)), ...hostileSvgs(url, red)];
  mkdirSync(join(dir, 'hostile'));
  for (const f of corpus) writeFileSync(join(dir, 'hostile', f.name), f.bytes);
});

after(async () => {
  await Child.killAll();
  server.close();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

/** The 8 orientations of a picture: [clockwise degrees, then mirrored left-right]. */
const DIHEDRAL: [number, boolean][] = [
  [0, false],
  [90, false],
  [180, false],
  [270, false],
  [0, true],
  [90, true],
  [180, true],
  [270, true],
];
/** What each EXIF orientation asks a viewer to do to the stored pixels (the EXIF spec). */
const EXIF: Record<number, [number, boolean]> = {
  2: [0, true], // mirror horizontal
  3: [180, false],
  4: [180, true], // mirror vertical
  5: [270, true], // mirror horizontal and rotate 270 CW
  6: [90, false],
  7: [90, true], // mirror horizontal and rotate 90 CW
  8: [270, false],
};

const embed = async (bytes: Buffer) =>
  (
    await embedder.embed(
      [await preprocessImage(bytes, { size: embedder.inputSize, channels: 3 })],
      1,
    )
  )[0]!;

test('every hostile file is a recorded error or a correct embedding; no crash, no hang', async () => {
  const lib = join(dir, 'lib');
  const t0 = performance.now();
  const c = Child.start(script('ingest-child.js'), {
    lib,
    model: modelDir,
    roots: [join(dir, 'hostile')],
    batch: 8,
  });
  const done = await c.wait('done', BOUND_S * 1000);
  const exit = await c.exited;
  const seconds = (performance.now() - t0) / 1000;
  assert.equal(exit.code, 0, `the ingest crashed (${exit.signal ?? exit.code}): ${c.stderr}`);
  assert.ok(seconds < BOUND_S, `took ${seconds} s`);

  const snap = checkLibrary(lib, embedder);
  const store = Store.open(join(lib, 'matsearch.db'), { readonly: true });
  const byKind = new Map<string, { files: number; errors: number; embedded: number }>();
  const closeness: Record<string, number> = {};
  const margins: Record<string, number> = {};
  try {
    for (const f of corpus) {
      const path = join(dir, 'hostile', f.name);
      const hash = snap.paths.get(path);
      const error = snap.failed.get(path);
      assert.ok((hash === undefined) !== (error === undefined), `${f.name}: image and failure`);
      if (f.expect === 'error') assert.ok(error, `${f.name} (${f.kind}) was not refused`);
      if (f.expect === 'image') assert.ok(hash, `${f.name} (${f.kind}) failed: ${error}`);
      const k = byKind.get(f.kind) ?? { files: 0, errors: 0, embedded: 0 };
      k.files++;
      if (error) k.errors++;
      else k.embedded++;
      byKind.set(f.kind, k);
      if (!hash) continue;
      const v = snap.vectorByHash.get(hash)!;
      if (f.reference) {
        const cos = cosine(v, await embed(f.reference));
        closeness[f.name] = Number(cos.toFixed(6));
        assert.ok(cos > 0.998, `${f.name}: embedding is not that of its plain equivalent (${cos})`);
      }
      if (f.unrotated) {
        const o = Number(/orientation-(\d)/.exec(f.name)![1]);
        const img = store.getImage(store.findPath(path)!.imageId)!;
        assert.deepEqual(
          [img.width, img.height],
          o >= 5 ? [48, 64] : [64, 48],
          `${f.name}: dimensions as displayed`,
        );
        // Of the 8 ways to turn and mirror the stored pixels, the embedding is nearest the one
        // EXIF orientation o prescribes (rotate clockwise, then mirror left-right).
        const scores: number[] = [];
        for (const [deg, mirror] of DIHEDRAL) {
          let t = sharp(f.unrotated).rotate(deg);
          if (mirror) t = t.flop();
          scores.push(cosine(v, await embed(await t.png().toBuffer())));
        }
        const best = scores.indexOf(Math.max(...scores));
        assert.deepEqual(DIHEDRAL[best], EXIF[o], `${f.name}: shown as ${DIHEDRAL[best]}`);
        const runnerUp = Math.max(...scores.filter((_, i) => i !== best));
        margins[f.name] = Number((scores[best]! - runnerUp).toFixed(4));
      }
    }
    // No SVG reached the network or drew a local file.
    assert.deepEqual(requests, [], 'an SVG fetched a URL');
    const local = store.findPath(join(dir, 'hostile', 'svg-local-file.svg'))!;
    const thumb = await sharp(
      thumbnailPath(join(lib, 'thumbs'), store.getImage(local.imageId)!.hash),
    )
      .removeAlpha()
      .raw()
      .toBuffer();
    const mean = (ch: number) =>
      thumb.filter((_, i) => i % 3 === ch).reduce((s, x) => s + x, 0) / (thumb.length / 3);
    assert.ok(mean(1) > 200 && mean(2) > 200, 'an SVG drew a local file (its thumbnail is red)');
  } finally {
    store.close();
  }
  const summary = done['summary'] as { failed: number; added: number };
  figures['corpus'] = {
    files: corpus.length,
    recordedErrors: snap.failed.size,
    embedded: corpus.length - snap.failed.size,
    crashes: 0,
    hangs: 0,
    seconds: Number(seconds.toFixed(1)),
    svgRequests: requests.length,
    added: summary.added,
    closeness,
    orientationMargins: margins,
    byKind: Object.fromEntries(byKind),
  };
});

test('a decode that overruns the per-file timeout is recorded as that file, the run goes on', async () => {
  const d = join(dir, 'slow');
  mkdirSync(d);
  // 3000 x 3000 noise: far more than 20 ms to decode and resize.
  const noise = Buffer.alloc(3000 * 3000 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  await sharp(noise, { raw: { width: 3000, height: 3000, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toFile(join(d, 'slow.png'));
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } })
    .png()
    .toFile(join(d, 'fast.png'));
  const lib = Library.open(join(dir, 'lib-timeout'), { embedder, log: () => {} });
  const s = await lib.ingest([d], { decode: { timeoutMs: 20 } });
  const failure = lib.store.findFailure(join(d, 'slow.png'));
  lib.close();
  assert.ok(failure, JSON.stringify(s));
  assert.match(failure.error, /decoding took over 20 ms and was abandoned/);
  // The abandoned decode finishes in the background without harm.
  await new Promise((r) => setTimeout(r, 1500));
  figures['timeout'] = { timeoutMs: 20, recorded: 1, message: failure.error };
});

test('figures', () => {
  reportFigures('hostile-files', figures);
});
