/**
 * Chess pieces keyed 'chess:<colour><piece>' ('chess:wn' is the white knight) in every piece set
 * of pychess, xboard and knights. Sets come as one SVG per piece ('wn.svg', 'WhiteKnight.svg')
 * or as one sheet with an id per piece ('WhiteKnight'), cut out by id (svg-sheet.ts).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keepRenderable } from './files.js';
import { sharedKeyCount } from './keys.js';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';
import { presentIds, readSvgText, renderElement } from './svg-sheet.js';
import { unpackDebian } from '../fetch.js';

const PIECES = { k: 'King', q: 'Queen', r: 'Rook', b: 'Bishop', n: 'Knight', p: 'Pawn' } as const;
const COLOURS = { w: 'White', b: 'Black' } as const;

/** The 12 pieces as key code ('wn') and long name ('WhiteKnight'). */
export function chessPieces(): { code: string; long: string }[] {
  return Object.entries(COLOURS).flatMap(([c, cl]) =>
    Object.entries(PIECES).map(([p, pl]) => ({ code: `${c}${p}`, long: `${cl}${pl}` })),
  );
}

interface Piece {
  readonly style: string;
  readonly code: string;
  readonly from: { readonly path: string } | { readonly png: Buffer };
  readonly licence: string;
}

/** Pieces of one set: per-piece files named by `fileOf`, else a sheet with long-name ids. */
async function loadSet(
  folder: string,
  style: string,
  licence: string,
  fileOf: (p: { code: string; long: string }) => string,
): Promise<Piece[]> {
  const pieces = chessPieces();
  const files = pieces.map((p) => join(folder, fileOf(p)));
  if (files.every((f) => existsSync(f)))
    return pieces.map((p, i) => ({
      style,
      code: p.code,
      from: { path: files[i] as string },
      licence,
    }));
  const sheet = readdirSync(folder).find((f) => /\.svgz?$/.test(f));
  if (!sheet) return [];
  return loadSheet(join(folder, sheet), style, licence);
}

async function loadSheet(path: string, style: string, licence: string): Promise<Piece[]> {
  const svg = readSvgText(path);
  const ids = [
    ...presentIds(
      svg,
      chessPieces().map((p) => p.long),
    ),
  ];
  const out: Piece[] = [];
  for (const p of chessPieces()) {
    if (!ids.includes(p.long)) continue;
    // Chess sheets also draw a board and labels outside the pieces.
    const r = await renderElement(svg, p.long, ids, 144, 'only');
    if (r) out.push({ style, code: p.code, from: { png: r.png }, licence });
  }
  return out;
}

export const CHESS_SOURCE: CorpusSource = {
  name: 'chess',
  group: 'drawn',
  async fetch(dir, log) {
    const work = join(dir, '.work');
    const found: Piece[] = [];
    const packages: string[] = [];
    const unpack = (name: string) => {
      const dest = join(work, name);
      packages.push(`debian:${name}=${unpackDebian(name, dest)}`);
      return dest;
    };
    const pychess = join(unpack('pychess'), 'usr/share/pychess/pieces');
    for (const set of readdirSync(pychess).sort()) {
      if (set === 'ttf' || !/^[a-z_]+$/.test(set)) continue;
      found.push(
        ...(await loadSet(
          join(pychess, set),
          `pychess-${set}`,
          'GPL-3.0-or-later',
          (p) => `${p.code}.svg`,
        )),
      );
    }
    const xboard = join(unpack('xboard'), 'usr/share/games/xboard/themes/default');
    found.push(...(await loadSet(xboard, 'xboard', 'GPL-3.0-or-later', (p) => `${p.long}.svg`)));
    const knights = join(unpack('knights'), 'usr/share/knights/themes');
    for (const f of readdirSync(knights)
      .filter((n) => n.endsWith('.svgz'))
      .sort())
      found.push(
        ...(await loadSheet(
          join(knights, f),
          `knights-${f.replace(/\.svgz$/, '')}`,
          'GPL-2.0-or-later',
        )),
      );
    const ok = await keepRenderable(found, (p) => ('path' in p.from ? p.from.path : ''));
    // A set missing pieces would leave keys without all styles; keep whole sets only.
    const perStyle = new Map<string, number>();
    for (const p of ok) perStyle.set(p.style, (perStyle.get(p.style) ?? 0) + 1);
    const entries: CorpusEntry[] = ok
      .filter((p) => perStyle.get(p.style) === 12)
      .map((p) => {
        const ext = 'path' in p.from ? '.svg' : '.png';
        const file = `${p.style}/${p.code}${ext}`;
        mkdirSync(join(dir, p.style), { recursive: true });
        if ('path' in p.from) copyFileSync(p.from.path, join(dir, file));
        else writeFileSync(join(dir, file), p.from.png);
        return {
          file,
          source: 'chess',
          kind: 'chess',
          style: p.style,
          key: `chess:${p.code}`,
          category: null,
          licence: p.licence,
        };
      });
    rmSync(work, { recursive: true, force: true });
    log(`  ${perStyle.size} piece sets, ${sharedKeyCount(entries)} pieces drawn by 3+ sets`);
    return {
      info: {
        packages,
        licence: 'GPL-3.0-or-later AND GPL-2.0-or-later',
        credit: 'PyChess piece sets (authors in the package); XBoard (GNU); Knights (KDE)',
      },
      entries,
    };
  },
};
