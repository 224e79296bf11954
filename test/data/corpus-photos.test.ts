import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { spreadOrder } from '../../src/data/corpus/collect.js';
import { decodeDds } from '../../src/data/corpus/decode-dds.js';
import { decodeTga } from '../../src/data/corpus/decode-tga.js';
import { licenceFor, parseDep5 } from '../../src/data/corpus/dep5.js';
import { findEmbeddedImages, jpegSize, pickWallpapers } from '../../src/data/corpus/extract-edj.js';
import { readRcc } from '../../src/data/corpus/extract-rcc.js';
import { gcomprisLabel } from '../../src/data/corpus/gcompris.js';
import { imageStats, openImage, rejectReason } from '../../src/data/corpus/image-filter.js';
import type { CorpusEntry } from '../../src/data/corpus/manifest.js';
import { fotoxxStem, keyFotoxx } from '../../src/data/corpus/photos.js';
import { drawGroup, isMaterialMap } from '../../src/data/corpus/textures.js';

// ---- Qt .rcc: written here byte by byte from the format description ----

interface RccNode {
  name: string;
  children?: RccNode[];
  data?: Buffer;
  zlib?: boolean;
}

/** A binary resource file of `version` (1 or 3) holding `root`'s children. */
function makeRcc(children: RccNode[], version: 1 | 3): Buffer {
  const nodeSize = version >= 2 ? 22 : 14;
  // Breadth-first, so each directory's children are consecutive, as rcc lays them out.
  const nodes: RccNode[] = [{ name: '', children }];
  for (let i = 0; i < nodes.length; i++) nodes.push(...((nodes[i] as RccNode).children ?? []));
  const names: Buffer[] = [];
  const nameAt = new Map<RccNode, number>();
  let nameLen = 0;
  const blobs: Buffer[] = [];
  const blobAt = new Map<RccNode, number>();
  let blobLen = 0;
  for (const n of nodes.slice(1)) {
    const utf16 = Buffer.from(n.name, 'utf16le').swap16();
    const entry = Buffer.alloc(6);
    entry.writeUInt16BE(n.name.length, 0);
    entry.writeUInt32BE(0x1234, 2); // hash: not checked by readers of whole trees
    nameAt.set(n, nameLen);
    names.push(entry, utf16);
    nameLen += 6 + utf16.length;
    if (n.data) {
      let body = n.data;
      if (n.zlib) {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(n.data.length);
        body = Buffer.concat([len, deflateSync(n.data)]);
      }
      const size = Buffer.alloc(4);
      size.writeUInt32BE(body.length);
      blobAt.set(n, blobLen);
      blobs.push(size, body);
      blobLen += 4 + body.length;
    }
  }
  const tree = Buffer.alloc(nodes.length * nodeSize);
  let next = 1;
  nodes.forEach((n, i) => {
    const at = i * nodeSize;
    tree.writeUInt32BE(nameAt.get(n) ?? 0, at);
    if (n.children) {
      tree.writeUInt16BE(0x02, at + 4);
      tree.writeUInt32BE(n.children.length, at + 6);
      tree.writeUInt32BE(next, at + 10);
      next += n.children.length;
    } else {
      tree.writeUInt16BE(n.zlib ? 0x01 : 0x00, at + 4);
      tree.writeUInt32BE(blobAt.get(n) ?? 0, at + 10);
    }
  });
  const header = Buffer.alloc(version >= 3 ? 24 : 20);
  header.write('qres', 0, 'latin1');
  header.writeUInt32BE(version, 4);
  const treeAt = header.length;
  const dataAt = treeAt + tree.length;
  const namesAt = dataAt + blobLen;
  header.writeUInt32BE(treeAt, 8);
  header.writeUInt32BE(dataAt, 12);
  header.writeUInt32BE(namesAt, 16);
  return Buffer.concat([header, tree, ...blobs, ...names]);
}

for (const version of [1, 3] as const) {
  test(`readRcc reads plain and zlib entries from a version ${version} resource`, () => {
    const big = Buffer.from('webp?'.repeat(200));
    const rcc = makeRcc(
      [
        {
          name: 'img',
          children: [
            { name: 'a.txt', data: Buffer.from('hello') },
            { name: 'fisch-ü.webp', data: big, zlib: true },
          ],
        },
        { name: 'top.bin', data: Buffer.from([1, 2, 3]) },
      ],
      version,
    );
    const files = readRcc(rcc);
    const got = new Map(files.map((f) => [f.path, f.data.toString('latin1')]));
    assert.deepEqual([...got.keys()].sort(), ['img/a.txt', 'img/fisch-ü.webp', 'top.bin'].sort());
    assert.equal(got.get('img/a.txt'), 'hello');
    assert.equal(got.get('img/fisch-ü.webp'), big.toString('latin1'));
    assert.equal(got.get('top.bin'), '\x01\x02\x03');
  });
}

test('readRcc rejects files that are not resources or are cut short', () => {
  assert.throws(() => readRcc(Buffer.from('not a resource file at all')), /qres/);
  const rcc = makeRcc([{ name: 'a', data: Buffer.from('x'.repeat(50)) }], 3);
  assert.throws(() => readRcc(rcc.subarray(0, rcc.length - 40)), /truncated|corrupt/);
});

// ---- images embedded in opaque containers (.edj) ----

const noise = (w: number, h: number, seed = 1) => {
  const px = Buffer.alloc(w * h * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    px[i] = s >>> 24;
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } });
};

test('findEmbeddedImages finds whole JPEG and PNG streams among junk and false signatures', async () => {
  const jpeg = await noise(33, 21).jpeg({ quality: 80, progressive: true }).toBuffer();
  const png = await noise(17, 9, 5).png().toBuffer();
  // A JPEG with a JPEG thumbnail inside an APP1 segment: one image, not two.
  const thumb = await noise(8, 8, 9).jpeg().toBuffer();
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(2 + thumb.length, 2);
  const outer = await noise(20, 20, 3).jpeg().toBuffer();
  const withThumb = Buffer.concat([outer.subarray(0, 2), app1, thumb, outer.subarray(2)]);
  const blob = Buffer.concat([
    Buffer.from('Eet header junk \xff\xd8\xff\x00garbage', 'latin1'),
    jpeg,
    Buffer.from('\x89PNG\r\n\x1a\nbroken', 'latin1'),
    Buffer.alloc(37, 0xab),
    png,
    Buffer.from('more'),
    withThumb,
    Buffer.from('tail'),
  ]);
  const found = findEmbeddedImages(blob);
  assert.deepEqual(
    found.map((f) => f.type),
    ['jpeg', 'png', 'jpeg'],
  );
  assert.ok(found[0]?.data.equals(jpeg));
  assert.ok(found[1]?.data.equals(png));
  assert.ok(found[2]?.data.equals(withThumb));
  const meta = await sharp(found[2]?.data).metadata();
  assert.deepEqual([meta.width, meta.height], [20, 20]);
  assert.deepEqual(jpegSize(jpeg), { width: 33, height: 21 });
});

test('pickWallpapers keeps the largest copy per aspect ratio within the size limit', async () => {
  const make = async (w: number, h: number) => (await noise(w, h).jpeg().toBuffer()) as Buffer;
  const imgs = [
    [64, 36],
    [128, 72],
    [96, 54],
    [50, 50],
    [3900, 4],
  ];
  const embedded = await Promise.all(
    imgs.map(async ([w, h], i) => ({
      type: 'jpeg' as const,
      offset: i * 1000,
      data: await make(w as number, h as number),
    })),
  );
  const kept = pickWallpapers(embedded).map((e) => jpegSize(e.data));
  assert.deepEqual(kept, [
    { width: 128, height: 72 },
    { width: 50, height: 50 },
  ]);
});

// ---- DDS (DXT1 / DXT5) and TGA ----

/** A DDS file: header + `levels` (already block-encoded), sizes from width/height. */
function makeDds(fourCC: string, width: number, height: number, levels: Buffer[]): Buffer {
  const h = Buffer.alloc(128);
  h.write('DDS ', 0, 'latin1');
  h.writeUInt32LE(124, 4);
  h.writeUInt32LE(height, 12);
  h.writeUInt32LE(width, 16);
  h.writeUInt32LE(levels.length, 28);
  h.writeUInt32LE(32, 76);
  h.writeUInt32LE(4, 80);
  h.write(fourCC, 84, 'latin1');
  return Buffer.concat([h, ...levels]);
}

/** A DXT1 block: endpoints c0, c1 (RGB565) and one index byte per row. */
const dxt1Block = (c0: number, c1: number, rows: number[]) => {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(c0, 0);
  b.writeUInt16LE(c1, 2);
  rows.forEach((r, i) => (b[4 + i] = r));
  return b;
};

const pixel = (img: { width: number; data: Uint8Array }, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

test('decodeDds decodes DXT1 4-colour and 3-colour blocks to known colours', () => {
  // Row 0 uses indices 0,1,2,3 (0b11100100); other rows index 0.
  const four = dxt1Block(0xf800, 0x001f, [0xe4, 0, 0, 0]); // red > blue: 4-colour mode
  const three = dxt1Block(0x001f, 0xf800, [0xe4, 0, 0, 0]); // blue < red: 3 colours + clear
  const img = decodeDds(makeDds('DXT1', 8, 4, [Buffer.concat([four, three])]));
  assert.deepEqual([img.width, img.height], [8, 4]);
  assert.deepEqual(pixel(img, 0, 0), [255, 0, 0, 255]);
  assert.deepEqual(pixel(img, 1, 0), [0, 0, 255, 255]);
  assert.deepEqual(pixel(img, 2, 0), [170, 0, 85, 255]); // (2 red + blue) / 3
  assert.deepEqual(pixel(img, 3, 0), [85, 0, 170, 255]);
  assert.deepEqual(pixel(img, 0, 3), [255, 0, 0, 255]);
  assert.deepEqual(pixel(img, 4, 0), [0, 0, 255, 255]);
  assert.deepEqual(pixel(img, 6, 0), [128, 0, 128, 255]); // (blue + red) / 2
  assert.deepEqual(pixel(img, 7, 0), [0, 0, 0, 0]); // transparent
});

test('decodeDds decodes DXT5 alpha and picks the mip level that fits maxSide', () => {
  // Alpha endpoints 255 and 0; pixels 0-7 use alpha indices 0..7 (3 bits each, LSB first).
  let bits = 0n;
  for (let i = 0; i < 8; i++) bits |= BigInt(i) << BigInt(3 * i);
  const alpha = Buffer.alloc(8);
  alpha[0] = 255;
  alpha[1] = 0;
  for (let k = 0; k < 6; k++) alpha[2 + k] = Number((bits >> BigInt(8 * k)) & 0xffn);
  const green = dxt1Block(0x07e0, 0x07e0, [0, 0, 0, 0]);
  const block = Buffer.concat([alpha, green]);
  // 8x8 level (4 blocks of zeros = black) then a 4x4 level holding `block`.
  const dds = makeDds('DXT5', 8, 8, [Buffer.alloc(64), block]);
  const full = decodeDds(dds);
  assert.equal(full.width, 8);
  const small = decodeDds(dds, 4);
  assert.deepEqual([small.width, small.height], [4, 4]);
  const alphas = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => pixel(small, i % 4, i >> 2)[3]);
  // a0 > a1: a0, a1, then (6a0+a1)/7 ... (a0+6a1)/7, rounded.
  assert.deepEqual(alphas, [255, 0, 219, 182, 146, 109, 73, 36]);
  assert.deepEqual(pixel(small, 0, 0).slice(0, 3), [0, 255, 0]);
  assert.throws(() => decodeDds(makeDds('ATI2', 4, 4, [Buffer.alloc(16)])), /not supported/);
});

test('decodeTga reads bottom-up true-colour and top-down RLE images', () => {
  const header = (type: number, w: number, h: number, bpp: number, desc: number) => {
    const b = Buffer.alloc(18);
    b[2] = type;
    b.writeUInt16LE(w, 12);
    b.writeUInt16LE(h, 14);
    b[16] = bpp;
    b[17] = desc;
    return b;
  };
  // 2x2, 24-bit BGR, bottom row first: bottom = red, green; top = blue, white.
  const raw = Buffer.concat([
    header(2, 2, 2, 24, 0),
    Buffer.from([0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255]),
  ]);
  const a = decodeTga(raw);
  assert.deepEqual(pixel(a, 0, 0), [0, 0, 255, 255]);
  assert.deepEqual(pixel(a, 1, 0), [255, 255, 255, 255]);
  assert.deepEqual(pixel(a, 0, 1), [255, 0, 0, 255]);
  assert.deepEqual(pixel(a, 1, 1), [0, 255, 0, 255]);
  // 3x1, 32-bit RLE, top-left origin: a run of 2 half-transparent red, then 1 literal blue.
  const rle = Buffer.concat([
    header(10, 3, 1, 32, 0x28),
    Buffer.from([0x81, 0, 0, 255, 128, 0x00, 255, 0, 0, 255]),
  ]);
  const b = decodeTga(rle);
  assert.deepEqual(
    [pixel(b, 0, 0), pixel(b, 1, 0), pixel(b, 2, 0)],
    [
      [255, 0, 0, 128],
      [255, 0, 0, 128],
      [0, 0, 255, 255],
    ],
  );
  assert.throws(() => decodeTga(rle.subarray(0, rle.length - 3)), /corrupt|truncated/);
});

// ---- entry filters ----

test('rejectReason tells tiny, blank, flat and normal-map images from photo-like ones', async () => {
  const reason = async (img: Sharp, opts = {}) =>
    rejectReason(await imageStats(openImage(await img.png().toBuffer(), 'x.png')), opts);
  assert.equal(await reason(noise(40, 200)), 'small');
  const grey = sharp({ create: { width: 200, height: 150, channels: 3, background: '#777' } });
  assert.equal(await reason(grey), 'blank');
  // A 'dialog': flat grey with a few solid buttons and a strip of noise.
  const strip = await noise(200, 20).png().toBuffer();
  const button = await sharp({
    create: { width: 40, height: 16, channels: 3, background: '#2255cc' },
  })
    .png()
    .toBuffer();
  const dialog = sharp({
    create: { width: 200, height: 150, channels: 3, background: '#ececec' },
  }).composite([
    { input: strip, left: 0, top: 0 },
    { input: button, left: 10, top: 120 },
    { input: button, left: 150, top: 120 },
  ]);
  assert.equal(await reason(dialog), 'flat');
  assert.equal(await reason(noise(200, 150)), null);
  // Noise around (128, 128, 225): a normal map by colour, rejected only when asked.
  const px = Buffer.from(await noise(120, 120, 7).raw().toBuffer());
  const centre = [128, 128, 225];
  for (let i = 0; i < px.length; i++)
    px[i] = (centre[i % 3] as number) - 30 + Math.floor(((px[i] as number) * 60) / 255);
  const nm = sharp(px, { raw: { width: 120, height: 120, channels: 3 } });
  assert.equal(await reason(nm, { normalMaps: true }), 'normal-map');
  assert.equal(await reason(nm.clone()), null);
  // An object on white passes once the flatness limit is lifted (GCompris does so).
  const obj = sharp({
    create: { width: 200, height: 150, channels: 3, background: '#ffffff' },
  }).composite([{ input: await noise(60, 60).png().toBuffer(), left: 70, top: 45 }]);
  assert.equal(await reason(obj.clone()), 'flat');
  assert.equal(await reason(obj, { maxTopColour: 1, minColours: 0 }), null);
  // A sprite on a transparent surround is judged by its opaque pixels only...
  const clear = { r: 0, g: 0, b: 0, alpha: 0 };
  const sprite = sharp({ create: { width: 200, height: 150, channels: 4, background: clear } });
  const patch = await noise(60, 60).png().toBuffer();
  assert.equal(await reason(sprite.clone().composite([{ input: patch, left: 70, top: 45 }])), null);
  // ...and one almost wholly transparent is blank.
  const speck = await noise(6, 6).png().toBuffer();
  assert.equal(await reason(sprite.composite([{ input: speck, left: 0, top: 0 }])), 'blank');
});

test('isMaterialMap flags normal, gloss, specular and similar maps by name', () => {
  for (const name of [
    'textures/trak5/base1a_norm.tga',
    'textures/trak5/base1a_gloss.tga',
    'textures/e/comp1a_glow.tga',
    'tex_misc/crate_nm.png',
    'art/textures/terrain/types/sand_ripples_norm.png.cached.dds',
    'art/textures/skins/gaia/ao/cliff_b_ao.png.cached.dds',
    'wall_s.jpg',
    'models/car_normal.png',
  ])
    assert.equal(isMaterialMap(name), true, name);
  for (const name of [
    'textures/trak5/base1a.tga',
    'terrain/grass_dirt_02.png.cached.dds',
    'nature/snow.jpg',
    'buildings/glass.png',
    'spec/../bricks.png'.replace('spec/../', ''),
  ])
    assert.equal(isMaterialMap(name), false, name);
});

test('spreadOrder is a seeded permutation whose prefix covers every group', () => {
  const items = [...Array.from({ length: 10 }, (_, i) => `a/${i}`), 'b/0', 'b/1', 'c/0'];
  const group = (s: string) => s.split('/')[0] as string;
  const order = spreadOrder(items, group, 42);
  assert.deepEqual([...order].sort(), [...items].sort());
  assert.deepEqual(new Set(order.slice(0, 3).map(group)), new Set(['a', 'b', 'c']));
  assert.deepEqual(new Set(order.slice(3, 5).map(group)), new Set(['a', 'b']));
  assert.deepEqual(spreadOrder(items, group, 42), order);
  assert.notDeepEqual(spreadOrder(items, group, 43).join(), spreadOrder(items, group, 44).join());
});

test('drawGroup counts a texture under its folder, cut to a depth', () => {
  assert.equal(
    drawGroup('art/textures/skins/skeletal/horse/a.dds'),
    'art/textures/skins/skeletal/horse',
  );
  assert.equal(
    drawGroup('art/textures/skins/skeletal/horse/a.dds', 4),
    'art/textures/skins/skeletal',
  );
  assert.equal(drawGroup('top.png'), '');
});

test('fotoxx results that share a stem are keyed as one photo', () => {
  assert.equal(fotoxxStem('red_eyes2.jpg'), 'red_eyes');
  assert.equal(fotoxxStem('chromatic1A.jpg'), 'chromatic');
  assert.equal(fotoxxStem('copy-pixels-2b.jpg'), 'copy-pixels');
  assert.equal(fotoxxStem('tiny_planet.jpg'), 'tiny_planet');
  const e = (file: string): CorpusEntry => ({
    file,
    source: 'fotoxx-common',
    kind: 'photo',
    style: 'fotoxx-common',
    key: null,
    category: null,
    licence: 'GPL-3.0-or-later',
  });
  const keyed = keyFotoxx(['painting2.jpg', 'painting3.jpg', 'blur2.jpg'].map(e));
  assert.deepEqual(
    keyed.map((k) => k.key),
    ['fotoxx:painting', 'fotoxx:painting', null],
  );
});

test('gcomprisLabel takes photo folders only, with subject categories and cut-out keys', () => {
  const a = 'gcompris/src/activities/';
  assert.deepEqual(gcomprisLabel(`${a}categorization/resource/images/fishes/fish3.webp`), {
    category: 'fishes',
    key: null,
  });
  assert.deepEqual(gcomprisLabel(`${a}erase/resource/gibbon.webp`), {
    category: 'animals',
    key: null,
  });
  assert.deepEqual(gcomprisLabel(`${a}details/resource/image/Gogh4_3.webp`), {
    category: 'paintings',
    key: 'gcompris:Gogh4',
  });
  assert.deepEqual(gcomprisLabel(`${a}details/resource/image/TajMahal_background.webp`), {
    category: 'monuments',
    key: 'gcompris:TajMahal',
  });
  assert.equal(gcomprisLabel(`${a}lang/resource/words_sample/bear.webp`), null);
  assert.equal(gcomprisLabel(`${a}categorization/resource/images/numbers/n.webp`), null);
  assert.equal(gcomprisLabel(`${a}erase/resource/erase.qml`), null);
});

test('licenceFor applies the last matching DEP-5 paragraph, ignoring image extensions', () => {
  const rules = parseDep5(
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      '',
      'Files: *',
      'License: GPL-3+',
      '',
      'Files: src/activities/erase/resource/*',
      '       src/activities/other/a?.svg',
      'License: CC-BY-SA-3.0',
      '',
      'Files: src/activities/erase/resource/gibbon.jpg',
      'Copyright: someone',
      'License: public-domain',
      ' some licence text',
    ].join('\n'),
  );
  assert.equal(
    licenceFor(rules, 'src/activities/erase/resource/gibbon.webp', 'x'),
    'public-domain',
  );
  assert.equal(licenceFor(rules, 'src/activities/erase/resource/kitten.webp', 'x'), 'CC-BY-SA-3.0');
  assert.equal(licenceFor(rules, 'src/activities/other/ab.png', 'x'), 'CC-BY-SA-3.0');
  assert.equal(licenceFor(rules, 'src/core/main.qml', 'x'), 'GPL-3+');
  assert.equal(licenceFor([], 'anything', 'fallback'), 'fallback');
});
