/**
 * Trained widths: recorded by the trainer in a model's config, inferred for an older model from
 * its training `levels` metadata, else unknown; shown by `model info`; a search or ingest at an
 * untrained width warns, and with --strict is refused.
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

test('model info shows the trained widths; untrained widths warn, or with --strict fail', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-trained-'));
  try {
    // An older model that records only its training levels, and one that records nothing.
    const quarter = saveTestModel(join(dir, 'w1of4'), { extra: { levels: '1/4' } });
    const unknown = saveTestModel(join(dir, 'unknown'), { seed: 9 });
    const env = { ...process.env, MATSEARCH_CACHE_DIR: join(dir, 'cache') };
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };

    const info = run('model', 'info', '--model', quarter, '--json');
    assert.equal(info.code, 0, info.err);
    const j = JSON.parse(info.out) as {
      trained_widths: string[] | null;
      widths: { width: string; trained: boolean | null }[];
    };
    assert.deepEqual(j.trained_widths, ['1/4']);
    assert.deepEqual(
      j.widths.filter((w) => w.trained).map((w) => w.width),
      ['1/4'],
    );
    assert.match(run('model', 'info', '--model', quarter).out, /trained widths: 1\/4\b/);
    const none = JSON.parse(run('model', 'info', '--model', unknown, '--json').out);
    assert.equal(none.trained_widths, null);
    assert.match(run('model', 'info', '--model', unknown).out, /trained widths: unknown/);
    // What the trainer writes: config.json's trainedWidths (over any levels metadata).
    const recorded = saveTestModel(join(dir, 'recorded'), {
      seed: 10,
      extra: { levels: '1/8' },
      trainedWidths: ['1', '1/2'],
    });
    const rec = JSON.parse(run('model', 'info', '--model', recorded, '--json').out);
    assert.deepEqual(rec.trained_widths, ['1', '1/2']);

    const photos = join(dir, 'photos');
    const [q] = await writeImages(photos, 3, 4);
    const lib = ['--library', join(dir, 'lib'), '--model', quarter];
    const ing = run('ingest', photos, '--width', '1/4', ...lib);
    assert.equal(ing.code, 0, ing.err);
    assert.doesNotMatch(ing.err, /not trained/);
    const trained = run('search', q!, '--width', '1/4', ...lib);
    assert.equal(trained.code, 0, trained.err);
    assert.doesNotMatch(trained.err, /not trained/);
    const warned = run('search', q!, '--width', '1/8', ...lib);
    assert.equal(warned.code, 0, warned.err);
    assert.match(warned.err, /width 1\/8 was not trained .*trained widths: 1\/4/);
    const strict = run('search', q!, '--width', '1/8', '--strict', ...lib);
    assert.equal(strict.code, 2);
    assert.match(strict.err, /width 1\/8 was not trained .*trained widths: 1\/4/);
    assert.equal(strict.out, '');
    // A per-layer mix is trained when every layer's width is.
    assert.equal(run('search', q!, '--width', '1/4x2', '--strict', ...lib).code, 0);
    const mixed = run('search', q!, '--width', '1/8x1,1/4x1', '--strict', ...lib);
    assert.equal(mixed.code, 2, mixed.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
