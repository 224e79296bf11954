/**
 * The index is a cache of the database: deleted, truncated, damaged in place (a flipped byte), or
 * older or newer than the database, it is detected when the library opens and rebuilt or caught
 * up, with a log line that says so.
 * Each case damages a closed library's index files, reopens it, and runs the shared checker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import type { LibraryIndexOptions } from '../../index/library-index.js';
import { slug } from '../../index/library-index.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { checkLibrary } from './check.js';
import { reportFigures, testEmbedder } from './helpers.js';

let dir: string;
let embedder: Embedder;
let photos: string;
let more: string;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'index-faults-'));
  ({ embedder } = await testEmbedder(join(dir, 'model')));
  photos = join(dir, 'photos');
  await writeImages(photos, 12, 5);
  more = join(dir, 'more');
  await writeImages(more, 6, 6, 'more');
});

after(async () => {
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

const ENGINES: { name: string; index: LibraryIndexOptions; kind: string }[] = [
  { name: 'exact', index: {}, kind: 'exact' },
  { name: 'hnswlib', index: { exactBelow: 4 }, kind: 'hnsw' },
  { name: 'usearch', index: { exactBelow: 4, engine: 'usearch' }, kind: 'usearch' },
];

let libN = 0;
/** A fresh library with `roots` ingested, closed. */
async function library(index: LibraryIndexOptions, roots = [photos]): Promise<string> {
  const d = join(dir, `lib-${libN++}`);
  const lib = Library.open(d, { embedder, index, log: () => {} });
  await lib.ingest(roots, { batch: 4 });
  lib.close();
  return d;
}

/** Opens (which repairs), returns the log, then checks the library. */
function reopen(d: string, index: LibraryIndexOptions): { log: string[]; images: number } {
  const log: string[] = [];
  Library.open(d, { embedder, index, log: (m) => log.push(m) }).close();
  const snap = checkLibrary(d, embedder);
  return { log, images: snap.images };
}

const cases: { engine: string; fault: string; logLine: string }[] = [];

for (const e of ENGINES) {
  test(`${e.name}: a deleted, truncated or damaged index file is rebuilt at open, with a log line`, async () => {
    const file = (d: string) => join(d, 'index', `${slug(embedder.modelId)}.${e.kind}`);
    const sidecars = e.kind === 'exact' ? [''] : ['', '.json', '.labels'];
    const faults: { fault: string; apply: (d: string) => void }[] = [
      { fault: 'index file deleted', apply: (d) => rmSync(file(d)) },
      {
        fault: 'index folder deleted',
        apply: (d) => rmSync(join(d, 'index'), { recursive: true }),
      },
      {
        fault: 'sync record truncated',
        apply: (d) =>
          writeFileSync(join(d, 'index', `${slug(embedder.modelId)}.sync.json`), '{"mo'),
      },
    ];
    for (const side of sidecars)
      for (const frac of [0, 0.5, -1]) {
        faults.push({
          fault: `${e.kind}${side} truncated to ${frac < 0 ? 'size - 1 byte' : `${frac * 100}%`}`,
          apply: (d) => {
            const f = file(d) + side;
            const n = statSync(f).size;
            truncateSync(f, frac < 0 ? n - 1 : Math.floor(n * frac));
          },
        });
      }
    // A flipped byte keeps every size and structure: only the checksums can tell.
    for (const side of e.kind === 'exact' ? [''] : ['', '.labels'])
      faults.push({
        fault: `${e.kind}${side}: one byte flipped in the middle (size unchanged)`,
        apply: (d) => {
          const f = file(d) + side;
          const buf = readFileSync(f);
          buf[buf.length >> 1]! ^= 0x40;
          writeFileSync(f, buf);
        },
      });
    for (const f of faults) {
      const d = await library(e.index);
      assert.ok(existsSync(file(d)), `${e.name}: no ${file(d)}`);
      f.apply(d);
      const { log, images } = reopen(d, e.index);
      assert.equal(images, 12);
      const line = log.find((m) => /index for .* (is unreadable|is missing|was stale)/.test(m));
      assert.ok(line, `${e.name}, ${f.fault}: no log line saying the index was rebuilt: ${log}`);
      cases.push({ engine: e.name, fault: f.fault, logLine: line });
    }
  });

  test(`${e.name}: an index older or newer than the database is caught up at open`, async () => {
    // Older: the index files of an earlier state, the database of a later one (images added
    // and one removed since).
    const d = await library(e.index);
    cpSync(join(d, 'index'), join(dir, `old-index-${libN}`), { recursive: true });
    const lib = Library.open(d, { embedder, index: e.index, log: () => {} });
    await lib.ingest([photos, more], { batch: 4 });
    lib.remove(lib.store.listImages(0, 1)[0]!.id);
    lib.close();
    rmSync(join(d, 'index'), { recursive: true });
    cpSync(join(dir, `old-index-${libN}`), join(d, 'index'), { recursive: true });
    const older = reopen(d, e.index);
    assert.equal(older.images, 17);
    const stale = older.log.find((m) => /was stale: added 6, removed 1/.test(m));
    assert.ok(stale, `older index: ${older.log}`);
    cases.push({ engine: e.name, fault: 'index older than the database', logLine: stale });

    // Newer: the database of an earlier state (a restored backup), the index of a later one.
    const n = await library(e.index);
    const backup = join(dir, `db-backup-${libN}`);
    const nIndex = join(n, 'index');
    cpSync(n, backup, {
      recursive: true,
      filter: (src) => src !== nIndex && !src.startsWith(`${nIndex}/`),
    });
    const l2 = Library.open(n, { embedder, index: e.index, log: () => {} });
    await l2.ingest([photos, more], { batch: 4 });
    l2.close();
    for (const f of readdirSync(n)) if (f.startsWith('matsearch.db')) rmSync(join(n, f));
    for (const f of readdirSync(backup))
      if (f.startsWith('matsearch.db')) cpSync(join(backup, f), join(n, f));
    const newer = reopen(n, e.index);
    assert.equal(newer.images, 12);
    const removed = newer.log.find((m) => /was stale: added 0, removed 6|rebuilding/.test(m));
    assert.ok(removed, `newer index: ${newer.log}`);
    cases.push({ engine: e.name, fault: 'index newer than the database', logLine: removed });
  });
}

test('figures', () => {
  reportFigures('index-faults', {
    cases: cases.length,
    rebuiltWithLogLine: cases.length,
    lost: 0,
    details: cases,
  });
});
