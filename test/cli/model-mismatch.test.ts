/**
 * A library searched with another model than the one that made its vectors: exit 2, naming the
 * library's models and how to re-embed, not an empty answer; and the advice works.
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

test('searching with another model exits 2 and says how to re-embed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-mismatch-'));
  try {
    const modelA = saveTestModel(join(dir, 'model-a'));
    const modelB = saveTestModel(join(dir, 'model-b'), { seed: 8, name: 'other-encoder' });
    const photos = join(dir, 'photos');
    const files = await writeImages(photos, 4, 9);
    const env = { ...process.env, MATSEARCH_CACHE_DIR: join(dir, 'cache') };
    const run = (model: string, ...args: string[]) => {
      const r = spawnSync(
        process.execPath,
        [cli, ...args, '--library', join(dir, 'lib'), '--model', model],
        { encoding: 'utf8', env },
      );
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const ing = run(modelA, 'ingest', photos, '--json');
    assert.equal(ing.code, 0, ing.err);

    for (const args of [
      ['search', files[0]!],
      ['search', files[0]!, '--json'],
      ['similar', '1'],
    ]) {
      const r = run(modelB, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
      assert.equal(r.out, '', args.join(' '));
      assert.match(r.err, /test-encoder@\w+/, 'names the model of the library');
      assert.match(r.err, /other-encoder@\w+/, 'names the model in use');
      assert.match(r.err, /matsearch ingest/, 'says how to re-embed');
    }

    // The advice: ingest again with the new model, then its searches answer.
    const again = run(modelB, 'ingest', photos, '--json');
    assert.equal(again.code, 0, again.err);
    const s = run(modelB, 'search', files[0]!, '--json');
    assert.equal(s.code, 0, s.err);
    assert.equal(JSON.parse(s.out).results[0].path, files[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
