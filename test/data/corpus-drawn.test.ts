import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { emojiCodepoints } from '../../src/data/corpus/emoji-sets.js';
import { flagCode } from '../../src/data/corpus/flags.js';
import { pickFamily } from '../../src/data/corpus/iconify-families.js';
import {
  distinctNames,
  iconToSvg,
  plainRoot,
  resolveIcon,
  type IconifyJson,
  type IconifySet,
} from '../../src/data/corpus/iconify.js';
import { bestIconFiles, iconPathSize } from '../../src/data/corpus/icon-themes.js';
import {
  baseNames,
  capByKeys,
  dehyphen,
  emojiKey,
  invertChars,
  keepShared,
  matchByName,
  normaliseIconName,
  normaliseLogoName,
  sharedKeyCount,
} from '../../src/data/corpus/keys.js';

const set = (json: Partial<IconifyJson>, chars: Record<string, string> = {}): IconifySet => ({
  json: { prefix: 'x', icons: {}, ...json },
  chars,
  info: {},
  pkg: 'npm:test@1',
});
const icon = (body = '<path d="M0 0h1v1H0z"/>') => ({ body });

test('emoji keys: lower-case code points joined by -, FE0F and leading zeros dropped', () => {
  assert.equal(emojiKey('1F9D1-200D-1F3A8'), 'emoji:1f9d1-200d-1f3a8');
  assert.equal(emojiKey('2764-fe0f'), 'emoji:2764');
  assert.equal(emojiKey('00A9_FE0F'), 'emoji:a9');
});

test('invertChars: the shortest code point sequence names an icon; aliases map to their root', () => {
  const inv = invertChars(
    { '1f44d-1f3fb': 'thumbs-up-light', '1f44d': 'thumbs-up', '1f592': 'thumbs-up-alias' },
    (n) => (n === 'thumbs-up-alias' ? 'thumbs-up' : n),
  );
  assert.equal(inv.get('thumbs-up'), '1f44d');
  assert.equal(inv.get('thumbs-up-light'), '1f44d-1f3fb');
  assert.equal(inv.has('thumbs-up-alias'), false);
});

test('name matching: fxemoji names match after removing hyphens, others only exactly', () => {
  const ref = new Map([
    ['grinning-face', '1f600'],
    ['red-heart', '2764'],
  ]);
  assert.equal(dehyphen('grinning-face'), 'grinningface');
  const loose = matchByName(['grinningface', 'redheart', 'foxweary'], ref, true);
  assert.deepEqual(
    [...loose],
    [
      ['grinningface', '1f600'],
      ['redheart', '2764'],
    ],
  );
  const exact = matchByName(['grinningface', 'red-heart'], ref, false);
  assert.deepEqual([...exact], [['red-heart', '2764']]);
});

test('emojiCodepoints: chars.json sets by code point, noto-v1 by noto name, fxemoji loose, streamline exact', () => {
  const sets = {
    noto: set(
      { icons: { 'grinning-face': icon(), 'noto-only': icon() } },
      { '1f600': 'grinning-face' },
    ),
    twemoji: set({ icons: { 'red-heart': icon(), extra: icon() } }, { '2764': 'red-heart' }),
    'noto-v1': set({ icons: { 'grinning-face': icon(), 'v1-only': icon() } }),
    fxemoji: set({ icons: { grinningface: icon(), redheart: icon(), foxweary: icon() } }),
    'streamline-emojis': set({ icons: { 'red-heart': icon(), redheart: icon() } }),
  };
  const cps = emojiCodepoints(sets);
  const get = (style: string) => Object.fromEntries(cps.get(style) ?? []);
  assert.deepEqual(get('noto'), { 'grinning-face': '1f600', 'noto-only': null });
  assert.deepEqual(get('twemoji'), { 'red-heart': '2764', extra: null });
  assert.deepEqual(get('noto-v1'), { 'grinning-face': '1f600', 'v1-only': null });
  assert.deepEqual(get('fxemoji'), { grinningface: '1f600', redheart: '2764', foxweary: null });
  assert.deepEqual(get('streamline-emojis'), { 'red-heart': '2764', redheart: null });
});

test('icon names: case and separators normalised; weight variants dropped only beside their base', () => {
  assert.equal(normaliseIconName('Document_Save'), 'document-save');
  assert.equal(normaliseIconName(' go  up '), 'go-up');
  assert.deepEqual(
    baseNames([
      'home',
      'home-outline',
      'home-outline-rounded',
      'format-bold',
      'star-fill',
      'x-line',
    ]),
    ['home', 'format-bold', 'star-fill', 'x-line'],
  );
});

test('logo names: vscode file-type prefixes and colour/wordmark suffixes removed', () => {
  assert.equal(normaliseLogoName('file-type-reactjs'), 'react');
  assert.equal(normaliseLogoName('react-dark'), 'react');
  assert.equal(normaliseLogoName('nodejs-icon'), 'node');
  assert.equal(normaliseLogoName('python-wordmark'), 'python');
  assert.equal(normaliseLogoName('dark'), 'dark');
});

test('keepShared keeps keys drawn by 3+ distinct styles, not 3 images of one style', () => {
  const items = [
    { key: 'icon:a', style: 's1' },
    { key: 'icon:a', style: 's2' },
    { key: 'icon:a', style: 's3' },
    { key: 'icon:b', style: 's1' },
    { key: 'icon:b', style: 's1' },
    { key: 'icon:b', style: 's2' },
    { key: null, style: 's1' },
  ];
  assert.deepEqual(
    keepShared(items).map((i) => i.style),
    ['s1', 's2', 's3'],
  );
  assert.equal(sharedKeyCount(items), 1);
  assert.equal(sharedKeyCount(items, 2), 2);
});

test('capByKeys takes whole keys, those drawn most often first', () => {
  const items = ['a', 'a', 'b', 'b', 'b', 'c', 'c'].map((k, i) => ({ key: k, style: `s${i}` }));
  assert.deepEqual(
    capByKeys(items, 5).map((i) => i.key),
    ['b', 'b', 'b', 'a', 'a'],
  );
  assert.deepEqual(
    capByKeys(items, 100, 1).map((i) => i.key),
    ['b', 'b', 'b'],
  );
});

test('pickFamily: one name per set and key (the shortest), keys in 3+ sets only', () => {
  const picks = pickFamily(
    new Map([
      ['s1', ['react', 'react-wordmark', 'vue']],
      ['s2', ['react-dark', 'react-light']],
      ['s3', ['file-type-reactjs', 'vue']],
    ]),
    (_s, n) => `logo:${normaliseLogoName(n)}`,
  );
  assert.deepEqual(picks.map((p) => `${p.style}:${p.name}`).sort(), [
    's1:react',
    's2:react-dark',
    's3:file-type-reactjs',
  ]);
});

test('icon themes: scalable beats any raster, SVG beats PNG at one size, symbolic skipped', () => {
  assert.equal(iconPathSize('48x48/apps/a.png'), 48);
  assert.equal(iconPathSize('apps/22/a.svg'), 22);
  assert.equal(iconPathSize('base/32x32@2x/a.png'), 64);
  assert.equal(iconPathSize('scalable/apps/a.svg'), 4096);
  assert.equal(iconPathSize('actions/symbolic/a.svg'), null);
  const best = bestIconFiles([
    '48x48/apps/firefox.png',
    '256x256/apps/firefox.png',
    'scalable/apps/firefox.svg',
    '48x48/apps/gimp.png',
    '48x48/apps/gimp.svg',
    '16x16/apps/gimp.png',
    'scalable/actions/go-up-symbolic.svg',
    'symbolic/actions/go-down.svg',
  ]);
  assert.deepEqual(Object.fromEntries(best), {
    firefox: 'scalable/apps/firefox.svg',
    gimp: '48x48/apps/gimp.svg',
  });
});

test('flag codes: two-letter ISO codes only, lower-cased', () => {
  assert.equal(flagCode('3x2/FR.svg'), 'fr');
  assert.equal(flagCode('de.png'), 'de');
  assert.equal(flagCode('gb-eng.svg'), null);
  assert.equal(flagCode('_olympic.png'), null);
});

test('Iconify: box defaults (icon, then set, then 16), alias chains, distinct names', () => {
  const json: IconifyJson = {
    prefix: 't',
    width: 24,
    icons: { a: { body: '<g/>' }, b: { body: '<g/>', width: 48, left: 2, top: 3 } },
    aliases: {
      same: { parent: 'a' },
      same2: { parent: 'same' },
      flipped: { parent: 'same', hFlip: true },
      twice: { parent: 'flipped', hFlip: true, rotate: 1 },
      lost: { parent: 'nothing' },
    },
  };
  assert.deepEqual(resolveIcon(json, 'a'), {
    body: '<g/>',
    width: 24,
    height: 16,
    left: 0,
    top: 0,
    hFlip: false,
    vFlip: false,
    rotate: 0,
  });
  const b = resolveIcon(json, 'b');
  assert.equal(b?.width, 48);
  assert.equal(b?.left, 2);
  assert.equal(b?.top, 3);
  assert.equal(resolveIcon(json, 'flipped')?.hFlip, true);
  assert.equal(resolveIcon(json, 'twice')?.hFlip, false);
  assert.equal(resolveIcon(json, 'twice')?.rotate, 1);
  assert.equal(resolveIcon(json, 'lost'), null);
  assert.equal(plainRoot(json, 'same2'), 'a');
  assert.equal(plainRoot(json, 'flipped'), 'flipped');
  assert.deepEqual(distinctNames(json), ['a', 'b', 'flipped', 'twice']);
});

test('iconToSvg: viewBox from the box, larger side scaled to 128', () => {
  const svg = iconToSvg({
    body: '<path d="M0 0h1"/>',
    width: 32,
    height: 16,
    left: 4,
    top: 0,
    hFlip: false,
    vFlip: false,
    rotate: 0,
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /width="128" height="64" viewBox="4 0 32 16"/);
  assert.match(svg, /<path d="M0 0h1"\/><\/svg>$/);
});

/** Mean darkness (0 white .. 1 black) of each quarter of a rendered SVG: [TL, TR, BL, BR]. */
async function quarters(svg: string): Promise<number[]> {
  const { data, info } = await sharp(Buffer.from(svg))
    .resize(16, 16)
    .flatten({ background: '#ffffff' })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const q = [0, 0, 0, 0];
  for (let y = 0; y < info.height; y++)
    for (let x = 0; x < info.width; x++) {
      const i = (y >= info.height / 2 ? 2 : 0) + (x >= info.width / 2 ? 1 : 0);
      q[i] = (q[i] as number) + (255 - (data[y * info.width + x] as number)) / 255 / 64;
    }
  return q.map((v) => Math.round(v * 100) / 100);
}

test('iconToSvg renders flips and quarter turns where they should land', async () => {
  // A black square in the top-left quarter of a 16 x 16 box at offset (10, 20).
  const json: IconifyJson = {
    prefix: 't',
    left: 10,
    top: 20,
    icons: { tl: { body: '<rect x="10" y="20" width="8" height="8" fill="#000"/>' } },
    aliases: {
      h: { parent: 'tl', hFlip: true },
      v: { parent: 'tl', vFlip: true },
      r: { parent: 'tl', rotate: 1 },
    },
  };
  const render = (n: string) => quarters(iconToSvg(resolveIcon(json, n) ?? assert.fail(n)));
  assert.deepEqual(await render('tl'), [1, 0, 0, 0]);
  assert.deepEqual(await render('h'), [0, 1, 0, 0]);
  assert.deepEqual(await render('v'), [0, 0, 1, 0]);
  // Clockwise: top-left goes to top-right.
  assert.deepEqual(await render('r'), [0, 1, 0, 0]);
});
