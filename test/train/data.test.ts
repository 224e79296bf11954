import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readIdx } from '../../src/data/idx.js';
import { loadFashionMnist } from '../../src/data/fmnist.js';
import { splitEmoji } from '../../src/data/emoji.js';
import {
  augmentFor,
  checkCategoryPairs,
  checkStylePairs,
  GENERAL_AUGMENT,
  PairSampler,
  Sampler,
  styleAugmentFor,
  STYLE_AUGMENT,
  subjectCategory,
  unitRepeats,
} from '../../src/train/data.js';
import { lossLabels } from '../../src/train/step.js';
import { augmentView, centerView } from '../../src/train/augment.js';
import { Rng } from '../../src/util/rng.js';
import { fakeEmoji, idxBytes, writeFakeFashionMnist } from './fixtures.js';

test('IDX files are read (gzipped or not) and bad ones refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-'));
  const p = join(dir, 'a.idx');
  writeFileSync(p, idxBytes([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6])));
  const a = readIdx(p);
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual([...a.data], [1, 2, 3, 4, 5, 6]);
  writeFileSync(p, idxBytes([2, 3], Uint8Array.from([1, 2, 3])));
  assert.throws(() => readIdx(p), { message: /IDX body has 3 bytes, shape \[2,3\] needs 6/ });
  writeFileSync(p, 'hello');
  assert.throws(() => readIdx(p), { message: /not an IDX file/ });
  writeFakeFashionMnist(dir, 20, 10);
  const fm = loadFashionMnist('train', dir);
  assert.equal(fm.labels.length, 20);
  assert.equal(fm.pixels.length, 20 * 784);
  assert.throws(() => loadFashionMnist('train', join(dir, 'nope')), {
    code: 'E_NOT_FOUND',
    message: /npm run data/,
  });
  rmSync(dir, { recursive: true });
});

test('the emoji split is by identity: no test emoji is seen in training, all vendors kept', () => {
  const all = fakeEmoji(50);
  const { train, test: held } = splitEmoji(all, 0.8, 3);
  assert.equal(train.classes.length, 40);
  assert.equal(held.classes.length, 10);
  const trainIds = new Set(train.classes);
  assert.ok(held.classes.every((c) => !trainIds.has(c)));
  for (const s of [train, held]) {
    assert.equal(s.labels.length, s.classes.length * 3);
    for (let l = 0; l < s.classes.length; l++) {
      const vendors = [...s.labels.keys()]
        .filter((i) => s.labels[i] === l)
        .map((i) => s.groups![i]);
      assert.deepEqual(vendors.sort(), [0, 1, 2]);
    }
  }
  // Same seed, same split; another seed, another one.
  assert.deepEqual(splitEmoji(all, 0.8, 3).test.classes, held.classes);
  assert.notDeepEqual(splitEmoji(all, 0.8, 4).test.classes, held.classes);
});

test('the sampler is a seeded permutation per epoch and resumes from its state', () => {
  const set = fakeEmoji(10);
  const s = new Sampler(set, true, 7);
  const first = s.next(4);
  assert.ok(
    first.every((u) => u.length === 3 && u.every((i) => set.labels[i] === set.labels[u[0]!])),
  );
  const saved = { ...s.state };
  const cont = s.next(9); // crosses into epoch 1
  assert.equal(s.state.epoch, 1);
  const resumed = new Sampler(set, true, 7, saved);
  assert.deepEqual(resumed.next(9), cont);
  const epoch0 = new Sampler(set, true, 7)
    .next(10)
    .flat()
    .sort((a, b) => a - b);
  assert.deepEqual(epoch0, [...Array(30).keys()]);
});

test('augmentation is seeded, stays normalised and converts channels', () => {
  const img = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 256);
  const o = {
    size: 6,
    channels: 3,
    scale: [0.4, 1],
    ratio: [0.75, 1.33],
    flip: true,
    jitter: 0.4,
  } as const;
  const a = new Float32Array(6 * 6 * 3);
  const b = new Float32Array(6 * 6 * 3);
  augmentView(img, 8, 3, o, new Rng(5), a);
  augmentView(img, 8, 3, o, new Rng(5), b);
  assert.deepEqual(a, b);
  augmentView(img, 8, 3, o, new Rng(6), b);
  assert.notDeepEqual(a, b);
  assert.ok(a.every((v) => v >= -2.2 && v <= 2.7)); // (0-mean)/std .. (1-mean)/std
  const grey = new Float32Array(8 * 8);
  centerView(img, 8, 3, 8, 1, grey);
  const mean = (img[0]! + img[1]! + img[2]!) / 3 / 255;
  assert.ok(Math.abs(grey[0]! - (mean - 0.449) / 0.226) < 1e-5);
});

test('the pair sampler draws two images of one identity, seeded, and resumes exactly', () => {
  // 30 identities: label l has (l % 3) + 1 images.
  const labels: number[] = [];
  for (let l = 0; l < 30; l++) for (let k = 0; k <= l % 3; k++) labels.push(l);
  const set = { ...fakeEmoji(1), labels: Int32Array.from(labels) };
  const repeats = (u: readonly number[]) => (labels[u[0]!]! === 0 ? 3 : 1); // identity 0 drawn 3 times an epoch
  const s = new PairSampler(set, 5, undefined, repeats);
  assert.equal(s.unitsPerEpoch, 32);
  const epoch = s.next(32);
  for (const [a, b] of epoch) assert.equal(labels[a!], labels[b!]);
  assert.equal(epoch.filter(([a]) => labels[a!] === 0).length, 3);
  const crossed = epoch.filter(([a, b]) => a !== b).length;
  assert.ok(
    crossed > 0 && crossed < 20,
    `about half the multi-image draws cross styles (${crossed})`,
  );
  const saved = { ...s.state };
  const more = s.next(40);
  const resumed = new PairSampler(set, 5, saved, repeats);
  assert.deepEqual(resumed.next(40), more);
  const same = new PairSampler(set, 5, undefined, repeats, 0).next(32);
  assert.ok(
    same.every(([a, b]) => a === b),
    'crossStyle 0: the same image twice',
  );
});

test('style pairs: drawn more often, always crossed at rate 1, and bad settings refused', () => {
  // 30 identities: label l has (l % 3) + 1 images, so 20 of them have several drawings.
  const labels: number[] = [];
  for (let l = 0; l < 30; l++) for (let k = 0; k <= l % 3; k++) labels.push(l);
  const set = { ...fakeEmoji(1), labels: Int32Array.from(labels) };
  const s = new PairSampler(set, 2, undefined, (u) => (u.length > 1 ? 3 : 1), 1);
  assert.equal(s.unitsPerEpoch, 10 + 20 * 3);
  const epoch = s.next(70);
  const perLabel = new Map<number, number>();
  for (const [a, b] of epoch) {
    assert.equal(labels[a!], labels[b!]);
    const l = labels[a!]!;
    perLabel.set(l, (perLabel.get(l) ?? 0) + 1);
    // Rate 1: an identity with several drawings always pairs two different ones.
    if (l % 3 > 0) assert.notEqual(a, b, `label ${l} drawn as the same image twice`);
    else assert.equal(a, b);
  }
  for (let l = 0; l < 30; l++) assert.equal(perLabel.get(l), l % 3 > 0 ? 3 : 1, `label ${l}`);
  const ok = { crossStyle: 0.5, repeats: 1, augment: 'copy' } as const;
  // Without style pairs a unit is drawn as its kind says, several drawings or not (a photo before
  // and after an edit: 4); with them, every unit with several drawings is drawn `repeats` times.
  assert.equal(unitRepeats(undefined, 4, 2), 4);
  assert.equal(unitRepeats(undefined, 1, 3), 1);
  assert.equal(unitRepeats({ ...ok, repeats: 3 }, 4, 2), 3);
  assert.equal(unitRepeats({ ...ok, repeats: 3 }, 1, 3), 3);
  assert.equal(unitRepeats({ ...ok, repeats: 3 }, 4, 1), 4);
  assert.deepEqual(checkStylePairs(ok), ok);
  assert.throws(() => checkStylePairs({ ...ok, crossStyle: 1.5 }), /--style-pairs must be a rate/);
  assert.throws(() => checkStylePairs({ ...ok, repeats: 0 }), /--style-repeats must be a whole/);
  assert.throws(() => checkStylePairs({ ...ok, repeats: 1.5 }), /--style-repeats must be a whole/);
  assert.throws(
    () => checkStylePairs({ ...ok, augment: 'strong' as 'copy' }),
    /--style-augment must be copy or mild/,
  );
  assert.equal(styleAugmentFor(ok, 64, 3), null);
  const mild = styleAugmentFor({ ...ok, augment: 'mild' }, 64, 3)!;
  assert.deepEqual(mild.scale, STYLE_AUGMENT.scale);
  assert.equal(mild.size, 64);
  assert.equal(mild.distort?.overlay, 0);
});

test('category pairs: a lone image pairs with another of its category at the rate, resumes exactly', () => {
  // 40 identities; 30-39 have two drawings. Images of identities 0-9 are category 'a', 10-19
  // 'b', the rest none; image 2 also belongs to nothing else.
  const labels: number[] = [];
  for (let l = 0; l < 40; l++) for (let k = 0; k <= (l >= 30 ? 1 : 0); k++) labels.push(l);
  const cat = (i: number) => (labels[i]! < 10 ? 'a' : labels[i]! < 20 ? 'b' : null);
  const set = { ...fakeEmoji(1), labels: Int32Array.from(labels) };
  const plain = new PairSampler(set, 3).next(200);
  // Rate 0 draws exactly what a run without category pairs draws (each draw has its own rng).
  assert.deepEqual(
    new PairSampler(set, 3, undefined, undefined, 0.5, { of: cat, rate: 0 }).next(200),
    plain,
  );
  const s = new PairSampler(set, 3, undefined, undefined, 0.5, { of: cat, rate: 1 });
  const all = s.next(200);
  all.forEach(([a, b], k) => {
    if (cat(a!) !== null) {
      assert.notEqual(a, b, `draw ${k}: a categorised image pairs with another`);
      assert.equal(cat(b!), cat(a!), `draw ${k}: of its own category`);
    } else assert.deepEqual([a, b], plain[k], `draw ${k}: uncategorised draws are unchanged`);
  });
  const partners = new Set(all.filter(([a]) => a === 0).map(([, b]) => b));
  assert.ok(partners.size > 3, `image 0 meets several partners (${[...partners].join(',')})`);
  const half = new PairSampler(set, 3, undefined, undefined, 0.5, { of: cat, rate: 0.5 }).next(400);
  const crossed = half.filter(([a, b]) => cat(a!) !== null && a !== b).length;
  const drawn = half.filter(([a]) => cat(a!) !== null).length;
  assert.ok(crossed > 0.35 * drawn && crossed < 0.65 * drawn, `${crossed} of ${drawn}`);
  const saved = { ...s.state };
  const more = s.next(50);
  const resumed = new PairSampler(set, 3, saved, undefined, 0.5, { of: cat, rate: 1 });
  assert.deepEqual(resumed.next(50), more);
  // A category of one image has no partner: it is drawn twice as itself.
  const lone = new PairSampler(set, 3, undefined, undefined, 0.5, {
    of: (i) => (i === 0 ? 'alone' : null),
    rate: 1,
  });
  for (const [a, b] of lone.next(40)) if (a === 0) assert.equal(b, 0);
  // Repeats: a categorised unit is drawn categoryPairs.repeats times, only when they are given.
  const cp = { rate: 0.5, repeats: 4 };
  assert.equal(unitRepeats(undefined, 1, 1, { pairs: cp, category: true }), 4);
  assert.equal(unitRepeats(undefined, 1, 1, { pairs: cp, category: false }), 1);
  assert.equal(unitRepeats(undefined, 1, 1, { pairs: undefined, category: true }), 1);
  assert.deepEqual(checkCategoryPairs(cp), cp);
  assert.throws(() => checkCategoryPairs({ ...cp, rate: -0.1 }), /--category-pairs must be a rate/);
  assert.throws(() => checkCategoryPairs({ ...cp, repeats: 0 }), /--category-repeats must be/);
  // Only clip-art categories name a subject.
  assert.equal(subjectCategory({ kind: 'clipart', category: 'animals' }), 'animals');
  assert.equal(subjectCategory({ kind: 'icon', category: 'devices' }), null);
  assert.equal(subjectCategory({ kind: 'photo', category: 'landscapes' }), null);
});

test('loss labels: a pair shares its first image label, so a category pair is a positive', () => {
  const set = { ...fakeEmoji(1), labels: Int32Array.from([7, 8, 9, 9]) };
  // Pairs (0, 1) of two categorised images and (2, 3) of one identity.
  assert.deepEqual([...lossLabels(set, [0, 1, 2, 3], true)], [7, 7, 9, 9]);
  assert.deepEqual([...lossLabels(set, [0, 1, 2, 3], false)], [7, 8, 9, 9]);
  assert.deepEqual([...lossLabels(set, [1, 0], true)], [8, 8]);
});

test('--grey sets the general distortions greyscale rate, and is refused elsewhere or out of range', () => {
  const general = { kind: 'general' } as const;
  assert.equal(augmentFor(general, 64, 3).distort?.grey, GENERAL_AUGMENT.distort.grey);
  assert.equal(augmentFor(general, 64, 3, 0.5).distort?.grey, 0.5);
  assert.equal(GENERAL_AUGMENT.distort.grey, 0.2, 'the default is untouched');
  assert.throws(() => augmentFor({ kind: 'fmnist' }, 28, 1, 0.5), { code: 'E_VALIDATION' });
  assert.throws(() => augmentFor(general, 64, 3, 1.5), { code: 'E_VALIDATION' });
});

test('train refuses --style-* outside the general data, and a bad --style-augment, before loading data', () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, 'train', ...args], { encoding: 'utf8' });
  const other = run('--data', 'fmnist', '--style-pairs', '1');
  assert.equal(other.status, 2, other.stderr);
  assert.match(other.stderr, /--style-pairs weighs the general model's cross-style pairs/);
  const bad = run('--data', 'fmnist', '--style-augment', 'strong');
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--style-augment/);
  const cat = run('--data', 'fmnist', '--category-pairs', '0.5');
  assert.equal(cat.status, 2, cat.stderr);
  assert.match(cat.stderr, /--category-pairs pairs the general corpus's clip art by category/);
  const repeatsAlone = run('--data', 'general', '--category-repeats', '2');
  assert.equal(repeatsAlone.status, 2, repeatsAlone.stderr);
  assert.match(repeatsAlone.stderr, /--category-repeats needs --category-pairs/);
});
