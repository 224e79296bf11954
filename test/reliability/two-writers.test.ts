/**
 * Two ingest processes on one library: the second refuses with a message that names the lock's
 * holder (the real `matsearch ingest`, exit 2), never both writing at once, never corruption;
 * a lock left by a killed ingest is taken over. Started at the same instant, with or without a
 * stale lock in the way, exactly one of two ingests runs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { Store } from '../../src/store/store.js';
import { assertSameLibrary, checkLibrary, cleanCorpus, type LibrarySnapshot } from './check.js';
import { Child, reportFigures, script } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const child = script('ingest-child.js');
let dir: string;
let modelDir: string;
let embedder: Embedder;
let photos: string;
let clean: LibrarySnapshot;
const figures: Record<string, unknown> = {};

before(async () => {
  ({ dir, modelDir, embedder, photos, clean } = await cleanCorpus('two-writers-', 24, 31));
});

after(async () => {
  await Child.killAll();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

const LOCKED =
  /another matsearch process \(pid \d+, ingesting since [^)]+\) is writing to this library; wait for it or stop it/;

/** An ingest that, once it has the lock, waits in its first batch until `hold` exists. */
const ingestChild = (lib: string, hold?: string) =>
  Child.start(child, {
    lib,
    model: modelDir,
    roots: [photos],
    ...(hold ? { holdFile: hold } : {}),
  });

test('a second matsearch ingest refuses while the first runs, with a lock message', async () => {
  const lib = join(dir, 'lib-cli');
  const hold = join(dir, 'release-cli');
  const first = ingestChild(lib, hold);
  await first.wait('held');
  const second = spawnSync(
    process.execPath,
    [CLI, 'ingest', photos, '--library', lib, '--model', modelDir],
    { encoding: 'utf8', env: { ...process.env, MATSEARCH_RUNTIME: 'tfjs' } },
  );
  assert.equal(second.status, 2, second.stderr);
  assert.match(second.stderr, LOCKED);
  const holder = Number(/pid (\d+)/.exec(second.stderr)![1]);
  assert.equal(holder, first.proc.pid, 'the message names the holder');
  writeFileSync(hold, '');
  assert.equal((await first.exited).code, 0, first.stderr);
  assertSameLibrary(checkLibrary(lib, embedder), clean, 'after the refused second ingest');
  figures['whileRunning'] = { refused: 1, message: second.stderr.trim(), lost: 0 };
});

test('two ingests started at once: one runs, the other refuses (4 rounds)', async () => {
  const rounds: { done: number; locked: number }[] = [];
  for (let r = 0; r < 4; r++) {
    const lib = join(dir, `lib-race-${r}`);
    // Half the rounds start with a stale lock (its owner was killed): both see it at once.
    if (r % 2 === 1) {
      Library.open(lib, { embedder, log: () => {} }).close();
      const dead = spawnSync(
        process.execPath,
        ['-e', 'process.stdout.write(String(process.pid))'],
        {
          encoding: 'utf8',
        },
      );
      writeFileSync(
        join(lib, 'write.lock'),
        JSON.stringify({ pid: Number(dead.stdout), what: 'ingesting', since: 'earlier' }),
      );
    }
    // Whoever gets the lock waits in its first batch until the other has given up, so the two
    // overlap for sure; two holders would both wait (and the round fail).
    const hold = join(dir, `release-${r}`);
    const pair = [ingestChild(lib, hold), ingestChild(lib, hold)];
    await Promise.race([
      Promise.any(pair.map((c) => c.wait('error'))),
      Promise.all(pair.map((c) => c.wait('held'))),
    ]).catch(() => {});
    writeFileSync(hold, '');
    await Promise.all(pair.map((c) => c.exited));
    const ends = pair.map((c) => c.events.find((e) => e.event === 'done' || e.event === 'error')!);
    const done = ends.filter((e) => e.event === 'done').length;
    const locked = ends.filter((e) => e.event === 'error' && e['code'] === 'E_LOCKED').length;
    for (const e of ends)
      if (e.event === 'error') assert.match(e['message'] as string, LOCKED, JSON.stringify(e));
    rounds.push({ done, locked });
    assert.equal(done + locked, 2, JSON.stringify(ends));
    assert.equal(done, 1, `round ${r}: ${done} ingests held the lock at once`);
    assertSameLibrary(checkLibrary(lib, embedder), clean, `race round ${r}`);
    assert.ok(!existsSync(join(lib, 'write.lock')), 'the lock is released');
  }
  figures['race'] = {
    rounds: rounds.length,
    refused: rounds.filter((x) => x.locked === 1).length,
    bothHeldTheLock: rounds.filter((x) => x.done === 2).length,
    lost: 0,
  };
});

test('a lock left by a killed ingest is taken over by the next one', async () => {
  const lib = join(dir, 'lib-stale');
  const first = ingestChild(lib, join(dir, 'never'));
  await first.wait('held');
  await first.kill();
  assert.ok(existsSync(join(lib, 'write.lock')), 'the killed ingest left its lock');
  const next = ingestChild(lib);
  await next.wait('done');
  assertSameLibrary(checkLibrary(lib, embedder), clean, 'after a stale lock');
  figures['staleLock'] = { takenOver: 1, lost: 0 };
});

test('a library created by two processes at once: both open it (no migration race)', async () => {
  // Another process creates the schema and holds its transaction open for a while; this one
  // opens the same new file meanwhile: it reads version 0, then must not migrate again.
  const file = join(dir, 'race.db');
  const schema = new URL('../../src/store/schema.js', import.meta.url).href;
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import Database from 'better-sqlite3';
       import { MIGRATIONS } from ${JSON.stringify(schema)};
       const db = new Database(${JSON.stringify(file)});
       db.pragma('journal_mode = WAL');
       db.exec('BEGIN IMMEDIATE');
       MIGRATIONS.forEach((m) => db.exec(m));
       db.pragma('user_version = ' + MIGRATIONS.length);
       console.log('holding');
       const t = Date.now() + 700; while (Date.now() < t);
       db.exec('COMMIT');
       db.close();`,
    ],
    {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  const store = Store.open(file); // waits for the holder's commit, then finds the schema there
  assert.equal(store.integrityCheck(), 'ok');
  store.close();
  await new Promise((r) => holder.once('close', r));
  assert.equal(holder.exitCode, 0);
  figures['newLibraryRace'] = { opened: 2, failed: 0 };
});

test('figures', () => {
  reportFigures('two-writers', figures);
});
