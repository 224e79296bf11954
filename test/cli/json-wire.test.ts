/**
 * The CLI's --json output is the API's wire format: `search`, `similar`, batch `search` lines and
 * `dupes` and `stats` each validate against their schema in the committed OpenAPI document (docs/openapi.json,
 * itself checked against the generated one by test/web/api.test.ts), with an independent
 * validator (test/json-schema.ts), and no field anywhere is spelled in camelCase.
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
import { camelCaseKeys, validate } from '../json-schema.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const doc = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url)), 'utf8'),
) as Record<string, unknown>;

/** The schema the API's route answers 200 with, or a named component (CLI-only formats). */
function schemaOf(ref: string): Record<string, unknown> {
  return { $ref: ref };
}
const SEARCH = schemaOf(
  '#/paths/~1api~1search/post/responses/200/content/application~1json/schema',
);
const LINE = schemaOf('#/components/schemas/SearchLine');
const SIMILAR = schemaOf(
  '#/paths/~1api~1images~1{id}~1similar/get/responses/200/content/application~1json/schema',
);

function check(what: string, schema: Record<string, unknown>, value: unknown): void {
  const errs = validate(schema, value, doc);
  assert.deepEqual(errs, [], `${what} does not match the OpenAPI schema`);
  assert.deepEqual(camelCaseKeys(value), [], `${what} has camelCase fields`);
}

test('the validator follows the document and can fail', () => {
  // JSON pointers escape '/' as '~1': the test's own $ref resolution must handle it.
  const errs = validate(SEARCH, { results: [{ id: 1, coarseScore: 0.5 }] }, doc);
  assert.ok(
    errs.some((e) => /unexpected field coarseScore/.test(e)),
    errs.join('\n'),
  );
  assert.ok(
    errs.some((e) => /missing timings_ms/.test(e)),
    errs.join('\n'),
  );
  assert.deepEqual(camelCaseKeys({ a: [{ model_id: 1, modelId: 2 }] }), ['$.a[0].modelId']);
});

test('ingest, search, similar, batch search, dupes and stats --json are the documented schemas', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-wire-'));
  try {
    const model = saveTestModel(join(dir, 'model'));
    const photos = join(dir, 'photos');
    const files = await writeImages(photos, 8, 31);
    const env = { ...process.env, MATSEARCH_CACHE_DIR: join(dir, 'cache') };
    const run = (...args: string[]) => {
      const r = spawnSync(
        process.execPath,
        [cli, ...args, '--library', join(dir, 'lib'), '--model', model],
        { encoding: 'utf8', env },
      );
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    // ingest --json is the API job's summary (IngestSummary).
    check(
      'ingest',
      schemaOf('#/components/schemas/IngestSummary'),
      JSON.parse(run('ingest', photos, '--json')),
    );
    const lines = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);

    const one = lines(run('search', files[2]!, '--width', '1/4', '--refine', '--k', '3', '--json'));
    assert.equal(one.length, 1);
    // A search line is the query path, then exactly the API's search response.
    check('search line', LINE, one[0]);
    const { query, ...response } = one[0] as { query: string; results: { path: string }[] };
    assert.equal(query, files[2]);
    check('search', SEARCH, response);
    assert.equal(response.results[0]!.path, files[2]);

    const sim = JSON.parse(run('similar', files[2]!, '--k', '2', '--rerank', 'none', '--json'));
    check('similar', SIMILAR, sim);

    const batch = lines(run('search', files[0]!, files[5]!, '--k', '2', '--json'));
    assert.equal(batch.length, 2);
    batch.forEach((l, i) => check(`batch line ${i}`, LINE, l));

    // Every image in one group at threshold -1: a non-empty answer to check.
    const dupes = JSON.parse(run('dupes', '--threshold=-1', '--json'));
    assert.ok(Array.isArray(dupes) && dupes.length > 0);
    check('dupes', schemaOf('#/components/schemas/DupeGroups'), dupes);

    const stats = JSON.parse(run('stats', '--json'));
    check('stats', schemaOf('#/components/schemas/CliStats'), stats);
    assert.equal(stats.images, 8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
