/**
 * A full disk during an ingest: the run stops with an error that says the disk is full and what
 * to do, the library stays consistent, and once space is freed the same ingest resumes and ends
 * with the library of an uninterrupted run.
 *
 * Two ways, both run where they can:
 *   - a real full disk: the library on a size-limited tmpfs (`mount -t tmpfs`, root only) with a
 *     filler file that leaves a little free space, ingested by the real `matsearch ingest`;
 *     where mounting is not allowed (not root, a container without CAP_SYS_ADMIN) this case is
 *     reported as skipped with the reason, never silently;
 *   - a write hook in a child process: file writes under the library fail with ENOSPC after a
 *     byte budget (thumbnails, index files); SQLite's own writes are covered by the tmpfs case.
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { assertSameLibrary, checkLibrary, cleanCorpus, type LibrarySnapshot } from './check.js';
import { Child, reportFigures, script } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir: string;
let modelDir: string;
let embedder: Embedder;
let photos: string;
let clean: LibrarySnapshot;
let mounted: string | null = null;
const figures: Record<string, unknown> = {};

before(async () => {
  ({ dir, modelDir, embedder, photos, clean } = await cleanCorpus('disk-full-', 40, 21));
});

after(async () => {
  await Child.killAll();
  if (mounted) spawnSync('umount', [mounted]);
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

function* filesUnder(d: string): Generator<string> {
  for (const e of readdirSync(d, { withFileTypes: true }))
    if (e.isDirectory()) yield* filesUnder(join(d, e.name));
    else yield join(d, e.name);
}

/** Resumes in this process with space available again, and checks against the clean run. */
async function resumeAndCheck(lib: string, what: string) {
  const l = Library.open(lib, { embedder, log: () => {} });
  await l.ingest([photos], { batch: 4 });
  l.close();
  const end = checkLibrary(lib, embedder);
  assertSameLibrary(end, clean, what);
  return end;
}

const MESSAGE = /disk holding the library .* is full .*free some space and run the ingest again/;
/** From the command line, also when the disk is already too full to open the library. */
const CLI_MESSAGE = /^matsearch ingest: .*disk.* is full .*free some space and run/m;

test('a real full disk (tmpfs): matsearch ingest stops with a clear error, then resumes', async (t: TestContext) => {
  const mnt = join(dir, 'tmpfs');
  mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt], {
    encoding: 'utf8',
  });
  if (m.status !== 0) {
    const why = `cannot mount a tmpfs here (${(m.stderr || m.error?.message || '').trim()}); the write-hook case below still runs`;
    figures['tmpfs'] = { ran: false, why };
    t.skip(why);
    return;
  }
  mounted = mnt;
  const env = { ...process.env, MATSEARCH_RUNTIME: 'tfjs' };
  const runs: { freeKiB: number; exit: number | null; message: string; imagesAtStop: number }[] =
    [];
  // Leave less and less room: the run fails at a different point each time.
  for (const freeKiB of [96, 48, 24]) {
    const lib = join(mnt, `lib-${freeKiB}`);
    // The library exists (database and index created) before the disk fills up.
    Library.open(lib, { embedder, log: () => {} }).close();
    const filler = join(mnt, 'filler');
    rmSync(filler, { force: true });
    const fs = statfsSync(mnt);
    const free = fs.bavail * fs.bsize;
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - freeKiB * 1024)));
    const r = spawnSync(
      process.execPath,
      [CLI, 'ingest', photos, '--library', lib, '--model', modelDir, '--batch', '4', '--json'],
      { encoding: 'utf8', env },
    );
    assert.equal(r.status, 1, `free ${freeKiB} KiB: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, CLI_MESSAGE, `free ${freeKiB} KiB: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /unexpected failure|\n\s+at /, 'no stack trace for a full disk');
    rmSync(filler); // space freed
    const atStop = checkLibrary(lib, embedder);
    runs.push({
      freeKiB,
      exit: r.status,
      message: r.stderr.trim().split('\n')[0]!,
      imagesAtStop: atStop.images,
    });
    const again = spawnSync(
      process.execPath,
      [CLI, 'ingest', photos, '--library', lib, '--model', modelDir, '--json'],
      { encoding: 'utf8', env },
    );
    assert.equal(again.status, 0, again.stderr);
    const end = checkLibrary(lib, embedder);
    assertSameLibrary(end, clean, `tmpfs, ${freeKiB} KiB free`);
  }
  figures['tmpfs'] = { ran: true, size: '8m', runs };
});

test('a write hook (ENOSPC after a byte budget): the run stops with a clear error, then resumes', async () => {
  const runs: { budget: number; code: unknown; imagesAtStop: number }[] = [];
  // What a whole run writes through the hooked calls: the thumbnails and the index.
  const total = [...filesUnder(join(dir, 'clean', 'thumbs'))].reduce(
    (s, f) => s + statSync(f).size,
    0,
  );
  for (const frac of [0, 0.3, 0.6, 0.95]) {
    const budget = Math.floor(frac * total);
    const lib = join(dir, `hook-${budget}`);
    Library.open(lib, { embedder, log: () => {} }).close(); // it exists before the disk fills
    const c = Child.start(script('ingest-child.js'), {
      lib,
      model: modelDir,
      roots: [photos],
      diskBytes: budget,
    });
    const e = await c.wait('error');
    assert.equal((await c.exited).code, 1);
    assert.equal(e['code'], 'E_DISK_FULL', JSON.stringify(e));
    assert.match(e['message'] as string, MESSAGE);
    const atStop = checkLibrary(lib, embedder);
    runs.push({ budget, code: e['code'], imagesAtStop: atStop.images });
    await resumeAndCheck(lib, `hook, budget ${budget} bytes`);
  }
  figures['hook'] = { bytesOfARun: total, runs };
});

test('figures', () => {
  reportFigures('disk-full', { ...figures, images: clean.images, lost: 0 });
});
