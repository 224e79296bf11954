import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  categorySets,
  distractors,
  missingStyles,
  stylePairs,
  type CorpusImage,
} from '../../src/eval/general-data.js';
import type { CorpusKind } from '../../src/data/corpus/manifest.js';

let n = 0;
const img = (
  source: string,
  kind: CorpusKind,
  style: string,
  key: string | null,
  category: string | null = null,
): CorpusImage => ({
  file: `${n}.png`,
  path: `/x/${n++}.png`,
  source,
  kind,
  style,
  key,
  category,
  licence: 'CC0-1.0',
});

test('a held-out style is queried against the trained style sharing most keys, not its own vendor', () => {
  const images = [
    ...['a', 'b', 'c', 'c'].map((k) => img('e', 'emoji', 'noto-v1', `emoji:${k}`)),
    ...['a', 'b', 'c'].map((k) => img('e', 'emoji', 'noto', `emoji:${k}`)), // same vendor: excluded
    ...['a', 'b', 'z'].map((k) => img('e', 'emoji', 'twemoji', `emoji:${k}`)),
    ...['a'].map((k) => img('e', 'emoji', 'openmoji', `emoji:${k}`)),
    ...['a', 'b', 'c'].map((k) => img('i', 'icon', 'papirus', `emoji:${k}`)), // another kind
  ];
  const pairs = stylePairs(images);
  assert.equal(pairs.length, 1);
  const p = pairs[0]!;
  assert.deepEqual([p.query, p.gallery], ['noto-v1', 'twemoji']);
  assert.deepEqual(
    p.queries.map((q) => q.key),
    ['emoji:a', 'emoji:b'],
  ); // one per shared key
  assert.equal(p.galleryImages.length, 3); // the unshared key stays as a distractor
  assert.deepEqual(missingStyles(images, pairs), [
    'fxemoji (not in the corpus)',
    'oxygen (not in the corpus)',
  ]);
});

test('category sets: held-out labelled sources only, categories of one image dropped', () => {
  const images = [
    img('art4apps', 'drawing', 'art4apps', null, 'animals'),
    img('art4apps', 'drawing', 'art4apps', null, 'animals'),
    img('art4apps', 'drawing', 'art4apps', null, 'food'), // alone in its category
    img('icon-themes', 'icon', 'oxygen', 'icon:x', 'actions'), // held out, but not a category set
    img('icon-themes', 'icon', 'papirus', 'icon:x', 'actions'), // trained
  ];
  const sets = categorySets(images, 100, 0);
  assert.deepEqual(
    sets.map((s) => [s.name, s.images.length]),
    [['art4apps', 2]],
  );
});

test('distractors: photos and textures first, never the held-out photos', () => {
  const images = [
    ...Array.from({ length: 5 }, () => img('gcompris-qt-data', 'photo', 'gcompris', null)),
    ...Array.from({ length: 3 }, () => img('emoji', 'emoji', 'twemoji', null)),
    ...Array.from({ length: 2 }, () => img('tex', 'texture', 'tex', null)),
    img('fotos', 'photo', 'fotos', null),
  ];
  const d = distractors(images, 4, 7);
  assert.equal(d.length, 4);
  assert.deepEqual(
    d
      .slice(0, 3)
      .map((e) => e.kind)
      .sort(),
    ['photo', 'texture', 'texture'],
  );
  assert.equal(d[3]!.kind, 'emoji');
  assert.ok(d.every((e) => e.source !== 'gcompris-qt-data'));
});
