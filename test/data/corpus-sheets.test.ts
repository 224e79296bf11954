import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cardIds, cardKey } from '../../src/data/corpus/cards.js';
import { chessPieces } from '../../src/data/corpus/chess.js';
import { capPerCategory } from '../../src/data/corpus/clipart.js';
import { keepRenderable } from '../../src/data/corpus/files.js';
import { fontName } from '../../src/data/corpus/font-name.js';
import { regularFaces } from '../../src/data/corpus/glyphs.js';
import {
  alphaBox,
  presentIds,
  renderElement,
  typicalSizes,
  withHidden,
} from '../../src/data/corpus/svg-sheet.js';

test('card keys: plural suit, ace as a, court cards by initial', () => {
  assert.equal(cardKey('heart', 'queen'), 'card:hearts-q');
  assert.equal(cardKey('spade', '1'), 'card:spades-a');
  assert.equal(cardKey('club', '10'), 'card:clubs-10');
  const a = cardIds('aisleriot');
  const k = cardIds('kde');
  assert.equal(a.length, 52);
  assert.equal(new Set(a.map((c) => cardKey(c.suit, c.rank))).size, 52);
  const qh = a.find((c) => c.id === 'heart_queen');
  assert.deepEqual([qh?.col, qh?.row], [11, 2]);
  assert.ok(k.some((c) => c.id === 'queen_heart'));
});

test('chess pieces: 12, coded colour then piece', () => {
  const p = chessPieces();
  assert.equal(p.length, 12);
  assert.deepEqual(p[4], { code: 'wn', long: 'WhiteKnight' });
  assert.ok(p.some((x) => x.code === 'bp' && x.long === 'BlackPawn'));
});

test('capPerCategory: top folder as category, at most max each, unlabeled folders skipped', () => {
  const files = ['a/1.png', 'a/2.png', 'a/x/3.png', 'b/1.png', 'top.png', 'unsorted/1.png'];
  const out = capPerCategory(files, 2, ['unsorted']);
  assert.equal(out.filter((o) => o.category === 'a').length, 2);
  assert.deepEqual(
    out.filter((o) => o.category === 'b'),
    [{ file: 'b/1.png', category: 'b' }],
  );
  assert.equal(out.length, 3);
  // Stable: the same choice on every call.
  assert.deepEqual(capPerCategory(files, 2, ['unsorted']), out);
});

test('presentIds and withHidden: attribute selectors for ids CSS cannot name', () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg"><g id="1_club"/><g id=\'b\'/></svg>';
  assert.deepEqual([...presentIds(svg, ['1_club', 'b', 'c'])], ['1_club', 'b']);
  assert.equal(
    withHidden(svg, ['1_club']),
    '<svg xmlns="http://www.w3.org/2000/svg"><style>[id="1_club"]{display:none !important}</style>' +
      '<g id="1_club"/><g id=\'b\'/></svg>',
  );
});

test('alphaBox finds the visible pixels', () => {
  const w = 5;
  const h = 4;
  const data = new Uint8Array(w * h * 4);
  data[(1 * w + 2) * 4 + 3] = 255;
  data[(3 * w + 3) * 4 + 3] = 255;
  assert.deepEqual(alphaBox(data, w, h), { left: 2, top: 1, width: 2, height: 3 });
  assert.equal(alphaBox(new Uint8Array(16), 2, 2), null);
});

test('renderElement cuts one element of a sheet out at its own size', async () => {
  // Two cards side by side, one referencing a shape defined inside the other.
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ' +
    'width="100" height="50">' +
    '<g id="1_club"><rect id="shape" x="5" y="5" width="20" height="30" fill="#000"/></g>' +
    '<g id="2_club"><use xlink:href="#shape" x="50" y="10"/></g></svg>';
  const ids = ['1_club', '2_club'];
  const one = await renderElement(svg, '1_club', ids, 72);
  assert.deepEqual([one?.width, one?.height], [20, 30]);
  // Hiding 1_club must not hide the copy 2_club draws of its shape.
  const two = await renderElement(svg, '2_club', ids, 144);
  assert.deepEqual([two?.width, two?.height], [40, 60]);
});

test("renderElement 'only' leaves out a board drawn outside any named element", async () => {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">' +
    '<rect x="0" y="0" width="100" height="100" fill="#888"/>' +
    '<g id="layer"><g id="WhiteKing"><rect x="10" y="20" width="30" height="40" fill="#000"/></g>' +
    '<g id="BlackKing"><rect x="60" y="20" width="10" height="10" fill="#000"/></g></g></svg>';
  const ids = ['WhiteKing', 'BlackKing'];
  const hidden = await renderElement(svg, 'WhiteKing', ids, 72);
  assert.deepEqual([hidden?.width, hidden?.height], [100, 100]);
  const only = await renderElement(svg, 'WhiteKing', ids, 72, 'only');
  assert.deepEqual([only?.width, only?.height], [30, 40]);
});

test('typicalSizes drops cut-outs far from the median size', () => {
  const s = (width: number, height: number) => ({ width, height });
  assert.deepEqual(typicalSizes([s(100, 150), s(101, 150), s(300, 150), s(100, 149)]), [0, 1, 3]);
});

test('fontName reads the names, typographic family (nameID 16) before the legacy one', () => {
  const utf16 = (t: string) => Buffer.from([...t].flatMap((c) => [0, c.charCodeAt(0)]));
  const build = (names: [number, string][]) => {
    const header = Buffer.alloc(12 + 16);
    header.writeUInt32BE(0x00010000, 0);
    header.writeUInt16BE(1, 4);
    header.write('name', 12, 'latin1');
    header.writeUInt32BE(28, 20);
    const table = Buffer.alloc(6 + names.length * 12);
    table.writeUInt16BE(names.length, 2);
    table.writeUInt16BE(table.length, 4);
    const texts: Buffer[] = [];
    let off = 0;
    names.forEach(([id, text], i) => {
      const r = 6 + i * 12;
      const b = utf16(text);
      table.writeUInt16BE(3, r);
      table.writeUInt16BE(1, r + 2);
      table.writeUInt16BE(0x409, r + 4);
      table.writeUInt16BE(id, r + 6);
      table.writeUInt16BE(b.length, r + 8);
      table.writeUInt16BE(off, r + 10);
      texts.push(b);
      off += b.length;
    });
    return Buffer.concat([header, table, ...texts]);
  };
  assert.deepEqual(
    fontName(
      build([
        [1, 'Test Sans'],
        [2, 'Regular'],
      ]),
    ),
    { family: 'Test Sans', subfamily: 'Regular', legacyFamily: 'Test Sans' },
  );
  assert.deepEqual(
    fontName(
      build([
        [1, 'Lato Black'],
        [2, 'Regular'],
        [16, 'Lato'],
        [17, 'Black'],
      ]),
    ),
    { family: 'Lato', subfamily: 'Black', legacyFamily: 'Lato Black' },
  );
  assert.equal(fontName(Buffer.from('not a font at all')), null);
});

test('regularFaces: one upright regular file per family', () => {
  const face = (file: string, family: string, subfamily: string, legacyFamily = family) => ({
    file,
    family,
    subfamily,
    legacyFamily,
  });
  const faces = regularFaces([
    face('b/sans-bold.ttf', 'Sans', 'Bold'),
    face('b/sans.ttf', 'Sans', 'Regular'),
    face('a/serif-roman.otf', 'Serif', 'Roman'),
    face('c/serif-book.otf', 'Serif', 'Book'),
    face('d/mono-italic.ttf', 'Mono', 'Italic'),
    face('a/lato-black.ttf', 'Lato', 'Black', 'Lato Black'),
    face('e/symbols.otf', 'Standard Symbols PS', 'Regular'),
  ]);
  assert.deepEqual(
    [...faces].map(([f, v]) => `${f}=${v.file}`),
    ['Serif=a/serif-roman.otf', 'Sans=b/sans.ttf'],
  );
});

test('keepRenderable drops SVGs that fail or draw nothing, and keeps PNGs unchecked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drawn-'));
  try {
    const svg = (body: string) =>
      `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">${body}</svg>`;
    const files = {
      drawn: svg('<rect width="6" height="6" fill="#000"/>'),
      white: svg('<rect width="10" height="10" fill="#fff"/>'),
      empty: svg(''),
      broken: '<svg xmlns="http://www.w3.org/2000/svg"><rect',
    };
    for (const [n, text] of Object.entries(files)) writeFileSync(join(dir, `${n}.svg`), text);
    const names = [...Object.keys(files).map((n) => `${n}.svg`), 'absent.png'];
    const kept = await keepRenderable(names, (n) => join(dir, n));
    assert.deepEqual(kept, ['drawn.svg', 'absent.png']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
