/**
 * The same emoji drawn by three vendors: Twemoji (CC-BY 4.0), Noto (Apache 2.0) and OpenMoji
 * (CC BY-SA 4.0). Each emoji present in all three becomes one identity with three images: an
 * instance-retrieval task (query one vendor, find the same emoji among the others).
 *
 * `buildEmojiCache` rasterises every image once to 64 px RGB on white (sharp; OpenMoji ships
 * SVG only) into one binary file, so training starts in a second.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from '../util/sharp.js';
import { NotFoundError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { dataDir } from './paths.js';
import { subset, type ImageSet } from './image-set.js';
import { readRasterCache, writeRasterCache } from './raster-cache.js';

export const EMOJI_VENDORS = ['twitter', 'google', 'openmoji'] as const;
export type EmojiVendor = (typeof EMOJI_VENDORS)[number];
export const EMOJI_CACHE_SIZE = 64;
const CACHE_FILE = 'emoji-64.bin';

interface EmojiEntry {
  unified: string;
  short_name: string;
  category: string;
  image: string;
  has_img_twitter?: boolean;
  has_img_google?: boolean;
}

/** Rasterises all three vendors into `<root>/emoji-64.bin`. Returns its path and emoji count. */
export async function buildEmojiCache(root = dataDir()): Promise<{ path: string; count: number }> {
  const path = join(root, CACHE_FILE);
  if (existsSync(path))
    return { path, count: readRasterCache<CacheHeader>(path).header.ids.length };
  const dirs = Object.fromEntries(EMOJI_VENDORS.map((v) => [v, join(root, 'emoji', v)])) as Record<
    EmojiVendor,
    string
  >;
  const list = JSON.parse(readFileSync(join(dirs.twitter, 'emoji.json'), 'utf8')) as EmojiEntry[];
  const sources = (e: EmojiEntry): Record<EmojiVendor, string> => ({
    twitter: join(dirs.twitter, 'img/twitter/64', e.image),
    google: join(dirs.google, 'img/google/64', e.image),
    openmoji: join(dirs.openmoji, 'color/svg', `${e.unified.toUpperCase()}.svg`),
  });
  const kept = list.filter(
    (e) => e.has_img_twitter && e.has_img_google && Object.values(sources(e)).every(existsSync),
  );
  kept.sort((a, b) => (a.unified < b.unified ? -1 : 1));
  const S = EMOJI_CACHE_SIZE;
  const per = S * S * 3;
  const pixels = new Uint8Array(kept.length * EMOJI_VENDORS.length * per);
  let done = 0;
  for (const [i, e] of kept.entries()) {
    const src = sources(e);
    for (const [v, vendor] of EMOJI_VENDORS.entries()) {
      const raw = await sharp(src[vendor], { density: 300 })
        .resize(S, S, { fit: 'contain', background: '#ffffff' })
        .flatten({ background: '#ffffff' })
        .removeAlpha()
        .raw()
        .toBuffer();
      pixels.set(raw, (i * EMOJI_VENDORS.length + v) * per);
    }
    if (++done % 200 === 0) process.stdout.write(`\rrasterising emoji ${done}/${kept.length}`);
  }
  process.stdout.write('\n');
  const header: CacheHeader = {
    size: S,
    vendors: [...EMOJI_VENDORS],
    ids: kept.map((e) => e.unified.toLowerCase()),
    names: kept.map((e) => e.short_name),
    categories: kept.map((e) => e.category),
  };
  writeRasterCache(path, header, pixels);
  return { path, count: kept.length };
}

interface CacheHeader {
  size: number;
  vendors: EmojiVendor[];
  ids: string[];
  names: string[];
  categories: string[];
}

/** All emoji (every vendor) as one set: label = emoji identity, group = vendor. */
export function loadEmoji(root = dataDir()): ImageSet & { names: string[]; categories: string[] } {
  const path = join(root, CACHE_FILE);
  if (!existsSync(path))
    throw new NotFoundError(`emoji cache not found at ${path}: run 'npm run data' first`);
  const { header: h, pixels } = readRasterCache<CacheHeader>(path);
  const V = h.vendors.length;
  const n = h.ids.length * V;
  return {
    name: 'emoji',
    size: h.size,
    channels: 3,
    pixels: pixels.subarray(0, n * h.size * h.size * 3),
    labels: Int32Array.from({ length: n }, (_, i) => Math.floor(i / V)),
    classes: h.ids,
    groups: Int32Array.from({ length: n }, (_, i) => i % V),
    groupNames: h.vendors,
    names: h.names,
    categories: h.categories,
  };
}

/**
 * Seeded split by emoji identity (never by image), so test emoji are unseen in training.
 * Labels are renumbered 0..k-1 inside each split.
 */
export function splitEmoji(
  all: ImageSet,
  trainFraction = 0.8,
  seed = 0,
): { train: ImageSet; test: ImageSet } {
  const ids = [...new Set(all.labels)].sort((a, b) => a - b);
  new Rng(seed).shuffle(ids);
  const nTrain = Math.round(ids.length * trainFraction);
  const part = (chosen: number[], name: string): ImageSet => {
    const keep = new Set(chosen);
    const idx = [...all.labels.keys()].filter((i) => keep.has(all.labels[i]!));
    const s = subset(all, idx, name);
    const remap = new Map([...new Set(s.labels)].sort((a, b) => a - b).map((l, k) => [l, k]));
    return {
      ...s,
      labels: s.labels.map((l) => remap.get(l)!),
      classes: [...remap.keys()].map((l) => all.classes[l]!),
    };
  };
  return {
    train: part(ids.slice(0, nTrain), 'emoji-train'),
    test: part(ids.slice(nTrain), 'emoji-test'),
  };
}
