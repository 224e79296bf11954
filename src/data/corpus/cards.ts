/**
 * Playing cards: the 52 cards of each deck keyed 'card:<suit>-<rank>' ('card:hearts-q').
 * AisleRiot decks (gnome-cards-data) draw all cards on one sheet in a 13 x 5 grid (ranks across,
 * clubs, diamonds, hearts, spades down): the sheet is rendered once and cut by the grid, after one
 * card cut out by its id confirms the layout. KDE decks (kdegames-card-data-kf5) lay cards out
 * freely, so each card is cut out by its id.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from '../../util/sharp.js';
import { sharedKeyCount } from './keys.js';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';
import { alphaBox, presentIds, readSvgText, renderElement, typicalSizes } from './svg-sheet.js';
import { unpackDebian } from '../fetch.js';

const SUITS = ['club', 'diamond', 'heart', 'spade'] as const;
const RANKS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'jack', 'queen', 'king'];
const EXTRA_IDS = ['joker_black', 'joker_red', 'black_joker', 'red_joker', 'back'];

/** 'heart', 'queen' -> 'card:hearts-q'; '1' is the ace. */
export function cardKey(suit: string, rank: string): string {
  const r = rank === '1' ? 'a' : /^\d+$/.test(rank) ? rank : rank.charAt(0);
  return `card:${suit}s-${r}`;
}

export interface CardId {
  readonly id: string;
  readonly suit: (typeof SUITS)[number];
  readonly rank: string;
  /** Grid cell in an AisleRiot sheet. */
  readonly col: number;
  readonly row: number;
}

/** The 52 card ids of a deck format: AisleRiot 'heart_queen', KDE 'queen_heart'. */
export function cardIds(format: 'aisleriot' | 'kde'): CardId[] {
  return SUITS.flatMap((suit, row) =>
    RANKS.map((rank, col) => ({
      id: format === 'aisleriot' ? `${suit}_${rank}` : `${rank}_${suit}`,
      suit,
      rank,
      col,
      row,
    })),
  );
}

interface Cut {
  readonly card: CardId;
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
}

/** Aisleriot sheet cut by its grid; null when the layout check fails. */
async function cutGrid(svg: string, density: number): Promise<Cut[] | null> {
  const cards = cardIds('aisleriot');
  const named = [...presentIds(svg, [...cards.map((c) => c.id), ...EXTRA_IDS])];
  const { data, info } = await sharp(Buffer.from(svg), { density, unlimited: true })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const cw = info.width / 13;
  const ch = info.height / 5;
  const cuts: Cut[] = [];
  for (const card of cards) {
    const left = Math.round(card.col * cw);
    const top = Math.round(card.row * ch);
    const cell = { left, top, width: Math.round(cw), height: Math.round(ch) };
    cell.width = Math.min(cell.width, info.width - left);
    cell.height = Math.min(cell.height, info.height - top);
    const raw = sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } });
    const part = await raw.extract(cell).raw().toBuffer();
    const box = alphaBox(part, cell.width, cell.height);
    if (!box) continue;
    const png = await sharp(part, { raw: { width: cell.width, height: cell.height, channels: 4 } })
      .extract(box)
      .png()
      .toBuffer();
    cuts.push({ card, png, width: box.width, height: box.height });
  }
  // The layout check: the queen of hearts cut out by id matches its grid cut.
  const probe = await renderElement(svg, 'heart_queen', named, density);
  const grid = cuts.find((c) => c.card.id === 'heart_queen');
  if (!probe || !grid) return null;
  const same = Math.abs(probe.width - grid.width) <= 2 && Math.abs(probe.height - grid.height) <= 2;
  return same ? cuts : null;
}

/** KDE deck: each card cut out by its id. */
async function cutById(svg: string, density: number): Promise<Cut[]> {
  const cards = cardIds('kde');
  const named = [...presentIds(svg, [...cards.map((c) => c.id), ...EXTRA_IDS])];
  const cuts: Cut[] = [];
  for (const card of cards) {
    if (!named.includes(card.id)) continue;
    const r = await renderElement(svg, card.id, named, density);
    if (r) cuts.push({ card, ...r });
  }
  return cuts;
}

interface DeckPackage {
  readonly pkg: string;
  readonly folder: string;
  readonly format: 'aisleriot' | 'kde';
  readonly prefix: string;
  readonly licence: string;
}

const PACKAGES: readonly DeckPackage[] = [
  {
    pkg: 'gnome-cards-data',
    folder: 'usr/share/aisleriot/cards',
    format: 'aisleriot',
    prefix: 'aisleriot',
    licence: 'GPL-3.0-or-later AND LGPL-2.1-or-later',
  },
  {
    pkg: 'kdegames-card-data-kf5',
    folder: 'usr/share/carddecks',
    format: 'kde',
    prefix: 'kde',
    licence: 'GPL-2.0-or-later AND LGPL-2.0-or-later',
  },
];

/**
 * KDE sheets are parsed once per card; the few above this size (up to 11 MB of SVG) would take
 * minutes each, so they are left out.
 */
const MAX_KDE_SHEET_CHARS = 1_300_000;

/** Decks that lost more than this many cards (odd ids, failed checks) are left out whole. */
const MIN_CARDS = 48;

export const CARDS_SOURCE: CorpusSource = {
  name: 'cards',
  group: 'drawn',
  async fetch(dir, log) {
    const work = join(dir, '.work');
    const packages: string[] = [];
    const entries: CorpusEntry[] = [];
    for (const p of PACKAGES) {
      const dest = join(work, p.pkg);
      packages.push(`debian:${p.pkg}=${unpackDebian(p.pkg, dest)}`);
      const root = join(dest, p.folder);
      const decks = readdirSync(root, { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.svgz?$/.test(f))
        .sort();
      for (const f of decks) {
        const deck = f.replace(/^svg-/, '').replace(/\/.*$|\.svgz?$/g, '');
        const style = `${p.prefix}-${deck.replace(/_/g, '-')}`;
        const svg = readSvgText(join(root, f));
        if (p.format === 'kde' && svg.length > MAX_KDE_SHEET_CHARS) {
          log(`  ${style}: left out (sheet too large to cut card by card)`);
          continue;
        }
        const cuts = p.format === 'aisleriot' ? await cutGrid(svg, 72) : await cutById(svg, 72);
        const typical = new Set(typicalSizes(cuts ?? []));
        const kept = (cuts ?? []).filter((_, i) => typical.has(i));
        if (kept.length < MIN_CARDS) {
          log(`  ${style}: left out (${kept.length} cards cut)`);
          continue;
        }
        mkdirSync(join(dir, style), { recursive: true });
        for (const c of kept) {
          const file = `${style}/${c.card.suit}-${c.card.rank}.png`;
          writeFileSync(join(dir, file), c.png);
          entries.push({
            file,
            source: 'cards',
            kind: 'card',
            style,
            key: cardKey(c.card.suit, c.card.rank),
            category: null,
            licence: p.licence,
          });
        }
        log(`  ${style}: ${kept.length} cards`);
      }
    }
    rmSync(work, { recursive: true, force: true });
    log(`  ${sharedKeyCount(entries)} cards drawn by 3+ decks`);
    return {
      info: {
        packages,
        licence: PACKAGES.map((p) => p.licence).join(' AND '),
        credit: 'AisleRiot card themes (GNOME; deck authors in the package); KDE Games card decks',
      },
      entries,
    };
  },
};
