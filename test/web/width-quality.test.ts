/**
 * The dial's quality per width comes from the dial bench's report, only for the weights that
 * were measured, from its largest evaluation set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { widthQuality } from '../../web/width-quality.js';

const q = (queries: number, map: number) => ({ queries, mapAt10: map, recallAt10: map / 2 });

test('width quality: the served model id only, the largest set, null without figures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'width-quality-'));
  const path = join(dir, 'dial.json');
  writeFileSync(
    path,
    JSON.stringify({
      quick: false,
      machine: { date: '2026-12-02T00:00:00.000Z' },
      models: [
        {
          modelId: 'served@1',
          widths: [
            { width: '1', quality: { small: q(10, 0.5), big: q(900, 0.6) } },
            { width: '1/8', quality: { small: q(10, 0.4), big: q(900, 0.52) } },
          ],
        },
        { modelId: 'random@2', widths: [{ width: '1', quality: null }] },
      ],
    }),
  );
  const w = widthQuality('served@1', path)!;
  assert.equal(w.set, 'big');
  assert.equal(w.queries, 900);
  assert.deepEqual(w.mapAt10, { '1': 0.6, '1/8': 0.52 });
  assert.deepEqual(w.recallAt10, { '1': 0.3, '1/8': 0.26 });
  assert.equal(w.quick, false);
  // Other weights (same architecture or not) get nothing, nor does a model measured for cost only.
  assert.equal(widthQuality('served@other', path), null);
  assert.equal(widthQuality('random@2', path), null);
  // A missing or corrupt report is no figures, not an error.
  assert.equal(widthQuality('served@1', join(dir, 'missing.json')), null);
  writeFileSync(path, '{not json');
  assert.equal(widthQuality('served@1', path), null);
  rmSync(dir, { recursive: true });
});
