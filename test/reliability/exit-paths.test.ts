/**
 * Every way opening (or closing) a library can fail ends the process: the real CLI, with the
 * default runtime (onnxruntime worker threads, which keep a process alive until closed), against
 * a database from a newer matsearch, a garbage database file, a full disk while the library
 * opens, the index file replaced by a folder, and `serve` stopped by SIGTERM on a full disk.
 * Each run has a time limit; a process still alive past it is a hang (and is killed).
 *
 * The full disk is real ENOSPC from the kernel: the index's temp file names carry the writer's
 * pid (index/vector-index.ts), so a link from that name to /dev/full, planted as soon as the
 * child is spawned, makes the index save fail the way a full disk does.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { setup } from '../helpers.js';
import { writeImages } from '../ingest/fixtures.js';
import { reportFigures, testEmbedder } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Generous for two loaded cores: a healthy run takes a few seconds (loading onnxruntime). */
const LIMIT_MS = Number(process.env['MATSEARCH_EXIT_LIMIT_MS'] ?? 45_000);
let dir: string;
let modelDir: string;
let embedder: Embedder;
let photos: string;
const runs: { trigger: string; command: string; exit: number | null; ms: number }[] = [];

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'exit-paths-'));
  ({ modelDir, embedder } = await testEmbedder(join(dir, 'model')));
  photos = join(dir, 'photos');
  await writeImages(photos, 3, 7);
});

after(async () => {
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A small ingested library at `name`; returns its folder. */
async function library(name: string): Promise<string> {
  const lib = join(dir, name);
  const l = Library.open(lib, { embedder, log: () => {} });
  await l.ingest([photos]);
  l.close();
  return lib;
}

/** The index files of a library (`index/<model>.exact`, `.sync.json`). */
function indexFiles(lib: string): string[] {
  return readdirSync(join(lib, 'index')).map((f) => join(lib, 'index', f));
}

/** Links the temp names `pid` would save the index under to /dev/full: its saves hit ENOSPC. */
function fillDisk(lib: string, pid: number): void {
  for (const f of indexFiles(lib))
    if (!f.endsWith('.tmp')) symlinkSync('/dev/full', `${f}.${pid}.tmp`);
}

interface Run {
  exit: number | null;
  signal: NodeJS.Signals | null;
  hung: boolean;
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with the default runtime; `onSpawn` sees the child at once, `onOutput` each chunk
 * of stdout. A child alive after LIMIT_MS is killed and reported as hung.
 */
function cli(
  args: string[],
  o: { onSpawn?: (pid: number) => void; onOutput?: (out: string, pid: number) => void } = {},
): Promise<Run> {
  const env = { ...process.env };
  delete env['MATSEARCH_RUNTIME']; // the default: onnxruntime worker threads
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...args, '--model', modelDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  o.onSpawn?.(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    o.onOutput?.(stdout, child.pid!);
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, LIMIT_MS);
  return new Promise((resolve) =>
    child.once('close', (exit, signal) => {
      clearTimeout(timer);
      resolve({ exit, signal, hung, ms: performance.now() - t0, stdout, stderr });
    }),
  );
}

function expectExit(trigger: string, command: string, r: Run, code: number, message: RegExp) {
  runs.push({ trigger, command, exit: r.exit, ms: Math.round(r.ms) });
  assert.ok(
    !r.hung,
    `${command}, ${trigger}: still running after ${LIMIT_MS} ms (killed)\n${r.stderr}`,
  );
  assert.equal(r.exit, code, `${command}, ${trigger}: exit ${r.exit}\n${r.stderr}`);
  assert.match(r.stderr, message, `${command}, ${trigger}`);
}

/**
 * `reindex` (a writer: read-only commands never save the index, so a full disk cannot reach
 * them), then (unless `serveToo` is false: the same path as another case) `serve`, whose open
 * differs: the index in a worker thread.
 */
async function bothCommands(
  trigger: string,
  lib: string,
  code: number,
  message: RegExp,
  serveToo = true,
) {
  const opts =
    trigger === 'full disk at open' ? { onSpawn: (pid: number) => fillDisk(lib, pid) } : {};
  expectExit(trigger, 'reindex', await cli(['reindex', '--library', lib], opts), code, message);
  if (!serveToo) return;
  const serve = await cli(['serve', '--library', lib, '--port', '0'], opts);
  expectExit(trigger, 'serve', serve, code, message);
  assert.doesNotMatch(serve.stdout, /serving/, 'the server must not start');
}

test('a database written by a newer matsearch', async () => {
  const lib = await library('newer');
  const db = new Database(join(lib, 'matsearch.db'));
  db.pragma('user_version = 999');
  db.close();
  await bothCommands('newer database', lib, 2, /newer matsearch .*upgrade matsearch/, false);
});

test('a garbage database file', async () => {
  const lib = join(dir, 'garbage');
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, 'matsearch.db'), 'this is not a database '.repeat(100));
  await bothCommands('garbage database', lib, 1, /not a database/);
});

test('a full disk while the library opens (the index must be rebuilt and saved)', async () => {
  const lib = await library('full-at-open');
  for (const f of indexFiles(lib)) if (f.endsWith('.sync.json')) rmSync(f); // forces a rebuild
  await bothCommands('full disk at open', lib, 1, /disk.* is full/);
});

test('the index file replaced by a folder', async () => {
  const lib = await library('index-folder');
  const main = indexFiles(lib).find((f) => f.endsWith('.exact'))!;
  rmSync(main);
  mkdirSync(join(main, 'inside'), { recursive: true });
  await bothCommands('index file is a folder', lib, 1, /\S/, false);
});

test('serve on a full disk stops on SIGTERM (its last index save fails)', async () => {
  const lib = await library('serve-full');
  let sent = false;
  let deleted = 0;
  // A delete makes the index differ from its files, so the save at stop must run (and fail).
  const r = await cli(['serve', '--library', lib, '--port', '0'], {
    onSpawn: (pid) => fillDisk(lib, pid),
    onOutput: (out, pid) => {
      const url = / at (http:\/\/\S+) /.exec(out)?.[1];
      if (sent || !url) return;
      sent = true;
      void fetch(`${url}/api/images/1`, { method: 'DELETE' })
        .then(
          (res) => (deleted = res.status),
          () => (deleted = -1),
        )
        .finally(() => process.kill(pid, 'SIGTERM'));
    },
  });
  assert.equal(deleted, 204, 'the delete is committed although its index save failed');
  assert.ok(sent, `the server never started: ${r.stderr}`);
  expectExit('SIGTERM on a full disk', 'serve', r, 1, /disk.* is full/);
  assert.ok(existsSync(join(lib, 'matsearch.db')));
});

test('figures', () => {
  reportFigures('exit-paths', { limitMs: LIMIT_MS, runs, hung: 0 });
});
