/**
 * Without --queue nothing of the queue is loaded: the CLI ingests with bullmq and ioredis made
 * unloadable (module hooks), and the same hooks do stop a --queue run, so they do bite.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const blocker = fileURLToPath(new URL('./no-bullmq.js', import.meta.url));

test('a local ingest never loads bullmq or ioredis', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-'));
  const model = saveTestModel(join(dir, 'model'));
  const photos = join(dir, 'photos');
  await writeImages(photos, 4, 2);
  const run = (...extra: string[]) =>
    spawnSync(
      process.execPath,
      ['--import', blocker, cli, 'ingest', photos, '--library', join(dir, 'lib')].concat([
        '--model',
        model,
        '--json',
        ...extra,
      ]),
      { encoding: 'utf8', env: { ...process.env, MATSEARCH_RUNTIME: 'tfjs' } },
    );
  const local = run();
  assert.equal(local.status, 0, local.stderr);
  assert.equal(JSON.parse(local.stdout).added, 4);

  const queued = run('--queue', 'redis://127.0.0.1:9');
  assert.equal(queued.status, 2, queued.stderr);
  assert.match(queued.stderr, /cannot load bullmq .*bullmq was loaded/);
  rmSync(dir, { recursive: true, force: true });
});
