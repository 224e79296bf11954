/**
 * A one-off `matsearch search` loads only what a search needs: not the web server, the queue,
 * tfjs, the exporter, the training code, zod, the ingest walk or the HNSW bindings (a small
 * library is scanned exactly). Evidence: every module the process (and its worker threads)
 * loaded, logged by a module hook; the modules a search does need show the hook sees them.
 * The same log shows the encoder's thread starting before the command's modules load, and the
 * CommonJS packages loaded by require rather than by an ES import.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const recorder = fileURLToPath(new URL('./load-recorder.js', import.meta.url));

/** Packages (or package prefixes) a search must not load, and our own folders and files. */
const UNNEEDED_PACKAGES = [
  'express',
  'multer',
  'bullmq',
  'ioredis',
  'zod',
  '@tensorflow/',
  'onnx-proto',
  'protobufjs',
  'hnswlib-node',
  'usearch',
];
const UNNEEDED_FILES = [
  /\/dist\/web\//,
  /\/dist\/queue\//,
  /\/dist\/src\/train\//,
  /\/dist\/src\/model\/(weights|vision|backend)\.js$/,
  /\/dist\/src\/runtime\/export-matmamba\.js$/,
  /\/dist\/ingest\/(pipeline|walk|writer)\.js$/,
];
const NEEDED_PACKAGES = ['onnxruntime-node', 'sharp', 'better-sqlite3'];
/** CommonJS packages of a search, loaded by `require` (the hook logs an ES import as a URL). */
const REQUIRED_PACKAGES = ['onnxruntime-node', 'better-sqlite3', 'sharp'];

/** The package a resolved module belongs to ('@scope/name' or 'name'), or null for our own. */
function packageOf(url: string): string | null {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return m ? m[1]! : null;
}

test('a one-off search loads no module it does not need', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'search-loads-'));
  try {
    const model = saveTestModel(join(dir, 'model'));
    const photos = join(dir, 'photos');
    const files = await writeImages(photos, 4, 3);
    const logFile = join(dir, 'loads.txt');
    const env = { ...process.env, MATSEARCH_CACHE_DIR: join(dir, 'cache') };
    const run = (args: string[], record: boolean) =>
      spawnSync(process.execPath, [...(record ? ['--import', recorder] : []), cli, ...args], {
        encoding: 'utf8',
        env: record ? { ...env, MATSEARCH_LOAD_LOG: logFile } : env,
      });
    const lib = ['--library', join(dir, 'lib'), '--model', model, '--json'];
    const ing = run(['ingest', photos, ...lib], false);
    assert.equal(ing.status, 0, ing.stderr);

    // The ingest filled the export cache: this search is a cold process with a warm cache.
    const s = run(['search', files[0]!, ...lib], true);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).results[0].path, files[0]);

    const loaded = [...new Set(readFileSync(logFile, 'utf8').split('\n').filter(Boolean))];
    const packages = new Set(loaded.map(packageOf).filter((p): p is string => p !== null));
    for (const p of NEEDED_PACKAGES) assert.ok(packages.has(p), `the hook did not see ${p}`);
    const extra = [...packages].filter((p) =>
      UNNEEDED_PACKAGES.some((u) => (u.endsWith('/') ? p.startsWith(u) : p === u)),
    );
    const ownExtra = loaded.filter(
      (u) => packageOf(u) === null && UNNEEDED_FILES.some((re) => re.test(u)),
    );
    assert.deepEqual([...extra, ...ownExtra], [], 'search loaded modules it does not need');

    // CommonJS packages (and sharp's CommonJS build) are required, not imported: an import first
    // scans CommonJS code for its export names (sharp's ES build: its dependencies), a require
    // does not.
    const imported = loaded.filter(
      (u) => u.startsWith('file:') && REQUIRED_PACKAGES.includes(packageOf(u) ?? ''),
    );
    assert.deepEqual(imported, [], 'a CommonJS package was imported as an ES module');

    // The encoder's thread starts first thing, so that its start-up overlaps the main thread's
    // module loading: before the search command's own module is even resolved.
    const worker = loaded.findIndex((l) => /^worker .*\/ort-worker\.js$/.test(l));
    const command = loaded.findIndex((u) => u.endsWith('/dist/src/cli/search.js'));
    assert.ok(
      worker >= 0 && worker < command,
      'the encoder thread started after the command loaded',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
