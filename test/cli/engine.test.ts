/** The library commands end to end through the real CLI: output, JSON and exit codes. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock } from '../../ingest/lock.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('ingest, search, similar, stats, remove and the exit codes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-'));
  const model = saveTestModel(join(dir, 'model'));
  const photos = join(dir, 'photos');
  const files = await writeImages(photos, 10, 5);
  const run = (...args: string[]) => {
    const r = spawnSync(
      process.execPath,
      [cli, ...args, '--library', join(dir, 'lib'), '--model', model],
      { encoding: 'utf8' },
    );
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const ing = run('ingest', photos, '--json');
  assert.equal(ing.code, 0, ing.err);
  assert.equal(JSON.parse(ing.out).added, 10);

  const s = run('search', files[4]!, '--width', '1/4', '--k', '3', '--json');
  assert.equal(s.code, 0, s.err);
  const res = JSON.parse(s.out);
  assert.equal(res.results[0].path, files[4]);
  assert.deepEqual(res.widths, { query: '1/4', rerank: '1/4' });
  assert.equal(res.refined, false);
  assert.equal(res.deduped, 0); // near-duplicates left out, counted (distinct images here)
  for (const k of ['encode', 'refine_encode', 'coarse', 'rerank', 'total'])
    assert.equal(typeof res.timings_ms[k], 'number');
  const rf = run('search', files[4]!, '--width', '1/4', '--refine', '--k', '3');
  assert.equal(rf.code, 0, rf.err);
  assert.match(rf.out, /rerank 1, .*encode [\d.]+ ms, refine encode [\d.]+ ms, coarse/);

  const table = run('search', files[4]!, '--k', '2');
  assert.equal(table.code, 0);
  assert.match(table.out, /score\s+id\s+path/);
  assert.match(table.out, /encode [\d.]+ ms, coarse [\d.]+ ms, rerank [\d.]+ ms/);

  const sim = run('similar', files[4]!, '--k', '2', '--json');
  assert.equal(sim.code, 0, sim.err);
  assert.ok(JSON.parse(sim.out).results.every((h: { path: string }) => h.path !== files[4]));

  const rm = run('remove', files[4]!, '--json');
  assert.deepEqual(JSON.parse(rm.out), [{ key: files[4], removed: true }]);
  assert.equal(JSON.parse(run('stats', '--json').out).images, 9);

  // User errors exit 2 with a message naming the problem.
  const badWidth = run('search', files[0]!, '--width', '1/3');
  assert.equal(badWidth.code, 2);
  assert.match(badWidth.err, /width 1\/3 .* whole number of channels/);
  assert.equal(run('search', join(dir, 'nope.jpg')).code, 2);
  assert.equal(run('ingest', join(dir, 'nowhere')).code, 2);
  assert.equal(run('frobnicate').code, 2);
  // A second writer is refused while the lock's owner (this process) holds it.
  const release = acquireLock(join(dir, 'lib', 'write.lock'), 'ingesting');
  const locked = run('ingest', photos);
  release();
  assert.equal(locked.code, 2);
  assert.match(
    locked.err,
    new RegExp(`another matsearch process \\(pid ${process.pid}, ingesting`),
  );
  rmSync(dir, { recursive: true });
});
