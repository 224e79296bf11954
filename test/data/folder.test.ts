import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildFolderCache, loadFolder, splitByClass } from '../../src/data/folder.js';
import { loadSplit, parseDataSpec, prepareData } from '../../src/train/data.js';

const solid = (r: number, g: number, b: number, channels: 3 | 4 = 3) =>
  sharp({
    create: {
      width: 40,
      height: 30,
      channels,
      background: { r, g, b, alpha: channels === 4 ? 0 : 1 },
    },
  });

/** root/red (5 PNG), root/green (4 JPEG + a grey PNG), root/blue (3 WebP + junk), plus debris. */
async function makeFolder(root: string) {
  for (const c of ['red', 'green', 'blue']) mkdirSync(join(root, c), { recursive: true });
  for (let i = 0; i < 5; i++)
    await solid(250, 0, 0)
      .png()
      .toFile(join(root, 'red', `r${i}.png`));
  for (let i = 0; i < 4; i++)
    await solid(0, 250, 0)
      .jpeg()
      .toFile(join(root, 'green', `g${i}.jpg`));
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
    .toColourspace('b-w')
    .png()
    .toFile(join(root, 'green', 'grey.png'));
  for (let i = 0; i < 3; i++)
    await solid(0, 0, 250)
      .webp()
      .toFile(join(root, 'blue', `b${i}.webp`));
  await solid(0, 0, 0, 4)
    .png()
    .toFile(join(root, 'blue', 'clear.png')); // transparent: white
  writeFileSync(join(root, 'blue', 'broken.jpg'), 'this is not a jpeg');
  writeFileSync(join(root, 'blue', '.DS_Store'), 'debris');
  mkdirSync(join(root, '.hidden'));
}

test('an image folder becomes a labelled set: one class per sub-folder, bad files skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'folder-'));
  const root = join(dir, 'photos');
  const cacheRoot = join(dir, 'cache');
  await makeFolder(root);
  const info = await buildFolderCache(root, { size: 16, cacheRoot });
  assert.equal(info.built, true);
  assert.equal(info.classes, 3);
  assert.equal(info.images, 5 + 5 + 4);
  assert.equal(info.skipped.length, 1);
  assert.match(info.skipped[0]!.path, /broken\.jpg$/);

  const set = loadFolder(info.path);
  assert.deepEqual(set.classes, ['blue', 'green', 'red']);
  assert.equal(set.channels, 3);
  assert.equal(set.size, 16);
  assert.equal(set.pixels.length, 14 * 16 * 16 * 3);
  const count = (c: number) => set.labels.filter((l) => l === c).length;
  assert.deepEqual([count(0), count(1), count(2)], [4, 5, 5]);
  const pixel = (i: number) => [...set.pixels.subarray(i * 768, i * 768 + 3)];
  for (let i = 0; i < set.labels.length; i++) {
    const [r, g, b] = pixel(i) as [number, number, number];
    if (set.labels[i] === 2)
      assert.ok(r > 230 && g < 20 && b < 20, `red image ${i}: ${r},${g},${b}`);
    if (set.labels[i] === 0)
      assert.ok(b > 230 || (r > 240 && g > 240), `blue or clear-on-white ${i}`);
  }
  // the grey PNG was expanded to three equal channels
  const greys = [...set.labels.keys()].filter(
    (i) =>
      set.labels[i] === 1 &&
      pixel(i)[0] === pixel(i)[2] &&
      pixel(i)[0]! > 100 &&
      pixel(i)[0]! < 160,
  );
  assert.equal(greys.length, 1);

  // unchanged folder: cache reused; a new file: rebuilt
  assert.equal((await buildFolderCache(root, { size: 16, cacheRoot })).built, false);
  await solid(250, 0, 0)
    .png()
    .toFile(join(root, 'red', 'r9.png'));
  const again = await buildFolderCache(root, { size: 16, cacheRoot });
  assert.equal(again.built, true);
  assert.equal(again.images, 15);
  rmSync(dir, { recursive: true });
});

test('the folder split is stratified by class, seeded, and keeps label meaning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'folder-'));
  const root = join(dir, 'photos');
  await makeFolder(root);
  const spec = parseDataSpec(root, join(dir, 'cache'));
  assert.equal(spec.kind, 'folder');
  assert.throws(() => loadSplit(spec, 'train'), { code: 'E_NOT_FOUND' });
  await prepareData(spec);
  const train = loadSplit(spec, 'train');
  const held = loadSplit(spec, 'test');
  assert.equal(train.labels.length + held.labels.length, 14);
  assert.deepEqual(train.classes, held.classes);
  for (let c = 0; c < 3; c++) {
    assert.ok(held.labels.includes(c), `class ${c} in test`);
    assert.ok(train.labels.filter((l) => l === c).length >= 3, `class ${c} mostly in train`);
  }
  const all = loadFolder((spec as { cache: string }).cache);
  assert.deepEqual(splitByClass(all, 0.8, 1).test.labels, splitByClass(all, 0.8, 1).test.labels);
  assert.throws(() => parseDataSpec(join(dir, 'missing')), {
    code: 'E_VALIDATION',
    message: /sub-folder per class/,
  });
  mkdirSync(join(dir, 'flat'));
  await solid(1, 2, 3)
    .png()
    .toFile(join(dir, 'flat', 'x.png'));
  await assert.rejects(prepareData(parseDataSpec(join(dir, 'flat'))), {
    code: 'E_VALIDATION',
    message: /one sub-folder per class/,
  });
  rmSync(dir, { recursive: true });
});
