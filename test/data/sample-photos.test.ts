import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import type { CorpusEntry } from '../../src/data/corpus/manifest.js';
import { pickSamplePhotos, writeSamplePhotos } from '../../src/data/sample-photos.js';

const photo = (file: string, category: string | null, key: string | null = null): CorpusEntry => ({
  file,
  source: 'gcompris-qt-data',
  kind: 'photo',
  style: 'gcompris-qt-data',
  key,
  category,
  licence: 'CC0-1.0',
});

test('sample photos: whole photos only, every category before any repeats', () => {
  const entries = [
    ...Array.from({ length: 10 }, (_, i) => photo(`a/${i}.webp`, 'animals')),
    photo('b/0.webp', 'tools'),
    photo('b/1.webp', 'tools'),
    photo('c/0.webp', 'planets'),
    photo('cut/0.webp', 'paintings', 'gcompris:gogh'), // a cut-out: shares its picture's key
    photo('x/0.webp', null), // no subject
  ];
  const got = pickSamplePhotos(entries, 6);
  assert.equal(got.length, 6);
  assert.deepEqual(
    new Set(got.slice(0, 3).map((e) => e.category)),
    new Set(['animals', 'tools', 'planets']),
  );
  assert.ok(got.every((e) => e.key === null && e.category !== null));
  assert.equal(new Set(got.map((e) => e.file)).size, 6, 'no photo twice');
  assert.deepEqual(pickSamplePhotos(entries, 6), got, 'seeded: the same pick every time');
  assert.equal(pickSamplePhotos(entries, 100).length, 13, 'at most what there is');
});

const root = mkdtempSync(join(tmpdir(), 'sample-photos-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('sample photos: downscaled originals plus edited copies, each with its licence', async () => {
  const src = join(root, 'corpus', 'gcompris-qt-data');
  mkdirSync(join(src, 'p'), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < 4; i++) {
    const file = `p/img${i}.png`;
    await sharp({
      create: { width: 900, height: 600, channels: 3, background: { r: 60 * i, g: 90, b: 200 } },
    })
      .png()
      .toFile(join(src, file));
    lines.push(JSON.stringify(photo(file, i % 2 ? 'tools' : 'animals')));
  }
  writeFileSync(join(src, 'manifest.jsonl'), lines.join('\n') + '\n');
  const out = join(root, 'out');
  const written = await writeSamplePhotos(out, 4, 2, root);
  assert.equal(written.filter((p) => p.edit === null).length, 4);
  assert.equal(written.filter((p) => p.edit !== null).length, 2);
  assert.deepEqual(readdirSync(out).sort(), written.map((p) => p.name).sort());
  for (const p of written) {
    const m = await sharp(join(out, p.name)).metadata();
    assert.equal(m.format, 'jpeg');
    assert.ok(Math.max(m.width!, m.height!) <= 480, `${p.name} is ${m.width}x${m.height}`);
    assert.equal(p.licence, 'CC0-1.0');
  }
});
