/**
 * Files of a type that cannot be decoded here (HEIC) are left out of the walk and reported once
 * per run, by reason, in the summary line and the JSON summary, never as per-file failures; BMP
 * files are ingested (ingest/bmp.ts). The reasons are checked against sharp itself, so a sharp
 * that gains HEVC or BMP fails this test and the lists get revisited.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { UNDECODABLE, walk } from '../../ingest/walk.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from './fixtures.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const bmp = fileURLToPath(new URL('../../../test/ingest/bmp/rgb24.bmp', import.meta.url));

test("sharp's libvips still lacks HEVC and BMP (the reasons for UNDECODABLE and bmp.ts)", () => {
  const formats = sharp.format as unknown as Record<string, { input: { fileSuffix?: string[] } }>;
  assert.deepEqual(formats['heif']?.input.fileSuffix, ['.avif']);
  assert.equal(formats['bmp'], undefined);
  assert.ok(UNDECODABLE.has('.heic') && UNDECODABLE.has('.heif'));
});

test('HEIC files are skipped by reason, once; an include glob still takes them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skip-walk-'));
  try {
    mkdirSync(join(dir, 'sub'));
    for (const f of ['a.heic', 'sub/b.HEIC', 'c.heif', 'd.jpg']) writeFileSync(join(dir, f), 'x');
    const skipped: string[] = [];
    const found = [...walk([dir], {}, undefined, (p) => skipped.push(p))].map((f) => f.path);
    assert.deepEqual(found, [join(dir, 'd.jpg')]);
    assert.deepEqual(
      skipped.sort(),
      ['a.heic', 'c.heif', 'sub/b.HEIC'].map((f) => join(dir, f)),
    );
    const asked = [...walk([dir], { include: ['**/*.heic'] }, undefined, () => assert.fail())];
    assert.deepEqual(
      asked.map((f) => f.path),
      [join(dir, 'a.heic'), join(dir, 'sub/b.HEIC')], // globs ignore case
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ingest: BMP added, HEIC listed once as skipped with its reason, no failures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skip-ingest-'));
  try {
    const model = saveTestModel(join(dir, 'model'));
    const photos = join(dir, 'photos');
    await writeImages(photos, 2, 7);
    copyFileSync(bmp, join(photos, 'drawing.bmp'));
    for (const f of ['IMG_1.heic', 'IMG_2.heic']) writeFileSync(join(photos, f), 'not decodable');
    const env = { ...process.env, MATSEARCH_CACHE_DIR: join(dir, 'cache') };
    const run = (lib: string, ...args: string[]) => {
      const r = spawnSync(
        process.execPath,
        [cli, 'ingest', photos, '--library', join(dir, lib), '--model', model, ...args],
        { encoding: 'utf8', env },
      );
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const s = JSON.parse(run('lib', '--json')) as {
      files: number;
      added: number;
      failed: number;
      skipped: { reason: string; files: number; example: string }[];
    };
    assert.equal(s.files, 3);
    assert.equal(s.added, 3); // two PNGs and the BMP
    assert.equal(s.failed, 0);
    assert.equal(s.skipped.length, 1);
    assert.equal(s.skipped[0]!.files, 2);
    assert.match(s.skipped[0]!.reason, /HEVC/);
    const text = run('lib2');
    const lines = text.split('\n').filter((l) => /skipped/.test(l));
    assert.equal(lines.length, 1, text);
    assert.match(lines[0]!, /skipped 2 file\(s\) such as .*IMG_1\.heic: HEIC \(HEVC\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
