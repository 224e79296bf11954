import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeSource, sourceDir, type CorpusEntry } from '../../src/data/corpus/manifest.js';
import { rasterSource } from '../../src/data/corpus/raster.js';
import { loadCorpus, rasterisedSources, splitOf } from '../../src/data/corpus/load.js';
import { isHeldOut } from '../../src/data/corpus/holdout.js';
import { imageAt } from '../../src/data/image-set.js';

/** A source of `n` solid-colour PNGs (colour i) and one SVG, keyed in pairs. */
async function fakeSource(root: string, source: string, style: string, n: number) {
  const dir = sourceDir(source, root);
  mkdirSync(dir, { recursive: true });
  const entries: CorpusEntry[] = [];
  for (let i = 0; i < n; i++) {
    const file = `img-${i}.png`;
    await sharp({
      create: { width: 40, height: 30, channels: 3, background: { r: i * 3, g: 100, b: 200 } },
    })
      .png()
      .toFile(join(dir, file));
    entries.push({
      file,
      source,
      kind: 'emoji',
      style,
      key: `emoji:${Math.floor(i / 2)}`,
      category: null,
      licence: 'CC0-1.0',
    });
  }
  // A 10-unit view box must come out sharp, not blurred up from 10 pixels.
  writeFileSync(
    join(dir, 'tiny.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="10" height="10"><rect x="0" y="0" width="5" height="10" fill="#000"/></svg>',
  );
  entries.push({
    file: 'tiny.svg',
    source,
    kind: 'icon',
    style,
    key: null,
    category: null,
    licence: 'CC0-1.0',
  });
  writeFileSync(join(dir, 'broken.png'), 'not a png');
  entries.push({
    file: 'broken.png',
    source,
    kind: 'icon',
    style,
    key: null,
    category: null,
    licence: 'CC0-1.0',
  });
  writeSource({ source, packages: ['test'], licence: 'CC0-1.0', credit: 'test' }, entries, root);
  return entries;
}

test('the corpus splits by the held-out rule, shares labels by key and skips undecodable files', async () => {
  const root = mkdtempSync(join(tmpdir(), 'corpus-'));
  try {
    await fakeSource(root, 'kept', 'twemoji', 60);
    await fakeSource(root, 'held', 'noto-v1', 6);
    const a = await rasterSource('kept', { root, size: 32 });
    assert.deepEqual({ images: a.images, skipped: a.skipped }, { images: 61, skipped: 1 });
    assert.equal(
      (await rasterSource('kept', { root, size: 32 })).built,
      false,
      'cached the second time',
    );
    await rasterSource('held', { root, size: 32 });
    assert.deepEqual(rasterisedSources(32, root), ['held', 'kept']);

    const train = loadCorpus('train', { root, size: 32 });
    const val = loadCorpus('val', { root, size: 32 });
    const held = loadCorpus('heldout', { root, size: 32 });
    assert.ok(held.entries.every((e) => e.style === 'noto-v1'));
    assert.equal(held.entries.length, 7);
    assert.ok([...train.entries, ...val.entries].every((e) => !isHeldOut(e)));
    assert.equal(train.entries.length + val.entries.length, 61);
    assert.ok(val.entries.every((e) => splitOf(e) === 'val'));
    // Images with one key share one label; key-less images get their own.
    for (let i = 0; i < train.labels.length; i++)
      for (let j = 0; j < train.labels.length; j++) {
        const ki = train.entries[i]!.key;
        const same = ki !== null && ki === train.entries[j]!.key;
        assert.equal(train.labels[i] === train.labels[j], same || i === j);
      }
    // Pixels travel with their entry: image i's red channel is 3 * its index.
    for (let k = 0; k < train.entries.length; k++) {
      const e = train.entries[k]!;
      const px = imageAt(train, k);
      if (e.file.endsWith('.png')) assert.equal(px[0], 3 * Number(/\d+/.exec(e.file)![0]));
      else {
        // The SVG's left half is black, its right half white, with a sharp edge in the middle.
        assert.ok(px[(16 * 32 + 4) * 3]! < 10 && px[(16 * 32 + 27) * 3]! > 245);
        let grey = 0;
        for (let x = 0; x < 32; x++)
          if (px[(16 * 32 + x) * 3]! > 30 && px[(16 * 32 + x) * 3]! < 225) grey++;
        assert.ok(
          grey <= 2,
          `rendered at size, not upscaled: ${grey} blurred pixels across the edge`,
        );
      }
    }
    assert.deepEqual(loadCorpus('train', { root, size: 32, sources: ['held'] }).entries, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
