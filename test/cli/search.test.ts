/**
 * `matsearch search` with many queries: one process, one JSON line per query, in order, each the
 * same answer as that query run alone (the oracle); `--from` lists; a bad file among good ones.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Line {
  query: string;
  results?: { id: number; score: number; path: string }[];
  error?: { code: string; message: string };
}

test('batch search: one JSON line per query, the same as each alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-search-'));
  try {
    const model = saveTestModel(join(dir, 'model'));
    const photos = join(dir, 'photos');
    const files = await writeImages(photos, 8, 21);
    const env = { ...process.env, MATSEARCH_CACHE_DIR: join(dir, 'cache') };
    const run = (...args: string[]) => {
      const r = spawnSync(
        process.execPath,
        [cli, ...args, '--library', join(dir, 'lib'), '--model', model],
        { encoding: 'utf8', env },
      );
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    assert.equal(run('ingest', photos, '--json').code, 0);
    const lines = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Line);

    const queries = [files[3]!, files[0]!, files[3]!, files[6]!];
    const batch = run('search', ...queries, '--k', '3', '--json');
    assert.equal(batch.code, 0, batch.err);
    const got = lines(batch.out);
    assert.deepEqual(
      got.map((l) => l.query),
      queries,
    );
    for (const [i, q] of queries.entries()) {
      const alone = lines(run('search', q, '--k', '3', '--json').out);
      assert.equal(alone.length, 1);
      const ids = (l: Line) => l.results!.map((h) => h.id);
      assert.deepEqual(ids(got[i]!), ids(alone[0]!), `query ${i} differs from its run alone`);
      assert.equal(got[i]!.results![0]!.path, q); // each image is in the library: it comes first
    }

    // --from: a list with a comment and a blank line, after a positional query.
    const list = join(dir, 'queries.txt');
    writeFileSync(list, `# queries\n${files[1]}\n\n${files[2]}\n`);
    const fromList = lines(run('search', files[5]!, '--from', list, '--k', '2', '--json').out);
    assert.deepEqual(
      fromList.map((l) => l.query),
      [files[5], files[1], files[2]],
    );

    // An undecodable file among good ones: its own error line, the others answered, exit 2.
    const bad = join(dir, 'bad.jpg');
    writeFileSync(bad, 'not an image');
    const mixed = run('search', files[2]!, bad, files[4]!, '--k', '2', '--json');
    assert.equal(mixed.code, 2);
    assert.match(mixed.err, /1 of 3 queries failed/);
    const m = lines(mixed.out);
    assert.equal(m.length, 3);
    assert.equal(m[0]!.results![0]!.path, files[2]);
    assert.equal(m[1]!.query, bad);
    assert.equal(m[1]!.error?.code, 'E_DECODE');
    assert.equal(m[2]!.results![0]!.path, files[4]);

    // A missing file is refused before the model loads.
    const missing = run('search', files[0]!, join(dir, 'nope.jpg'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no such file: .*nope\.jpg/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
