/**
 * What the general evaluation reads from the corpus (`<data>/corpus/<source>/manifest.jsonl`):
 * the held-out photos and the distractors for copy detection, the held-out styles with a trained
 * gallery for cross-style retrieval, and the held-out labelled sets for category retrieval. The
 * held-out rule is the corpus's own (src/data/corpus/holdout.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  HELDOUT_PHOTO_SOURCES,
  HELDOUT_SOURCES,
  HELDOUT_STYLES,
  isHeldOut,
} from '../data/corpus/holdout.js';
import {
  corpusDir,
  readManifest,
  sourceDir,
  sourceDone,
  type CorpusEntry,
} from '../data/corpus/manifest.js';
import { Rng } from '../util/rng.js';

export interface CorpusImage extends CorpusEntry {
  /** Absolute path of the image file. */
  readonly path: string;
}

/** Every entry of every completely fetched source, in source-name order. */
export function readCorpus(root: string): { images: CorpusImage[]; sources: string[] } {
  const dir = corpusDir(root);
  if (!existsSync(dir)) return { images: [], sources: [] };
  const sources = readdirSync(dir)
    .filter((s) => sourceDone(s, root))
    .sort();
  const images = sources.flatMap((s) =>
    readManifest(s, root).map((e) => ({ ...e, path: join(sourceDir(s, root), e.file) })),
  );
  return { images, sources };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

const shuffled = <T>(xs: readonly T[], seed: number) => new Rng(seed).shuffle([...xs]);

/** The first image of each distinct file content, in order. */
function distinctContent(images: readonly CorpusImage[]): CorpusImage[] {
  const seen = new Set<string>();
  return images.filter((e) => {
    const h = createHash('sha256').update(readFileSync(e.path)).digest('hex');
    if (seen.has(h)) return false;
    seen.add(h);
    return true;
  });
}

/** The held-out photos, one per distinct file content, in manifest order. */
export function heldOutPhotos(images: readonly CorpusImage[]): CorpusImage[] {
  return distinctContent(
    images.filter(
      (e) => HELDOUT_PHOTO_SOURCES.includes(e.source) && e.kind === 'photo' && isHeldOut(e),
    ),
  );
}

/**
 * A seeded sample of `count` training photos (never held out, one per distinct content): the
 * originals of a validation copy set (`eval --split train`), for choosing settings without
 * looking at the held-out photos. The model trained on them, so its figures run high.
 */
export function trainingPhotos(
  images: readonly CorpusImage[],
  count: number,
  seed: number,
): CorpusImage[] {
  const photos = images.filter((e) => e.kind === 'photo' && !isHeldOut(e));
  return distinctContent(shuffled(photos, seed)).slice(0, count);
}

/**
 * `count` distractors from sources other than the held-out photo sources, never one of
 * `exclude` (the originals, by path: a copy of one under another path would count against
 * every method alike): a seeded sample of photos and textures first, topped up with a seeded
 * sample of everything else.
 */
export function distractors(
  images: readonly CorpusImage[],
  count: number,
  seed: number,
  exclude: readonly CorpusImage[] = [],
): CorpusImage[] {
  const out = new Set(exclude.map((e) => e.path));
  const pool = images.filter((e) => !HELDOUT_PHOTO_SOURCES.includes(e.source) && !out.has(e.path));
  const photoLike = (e: CorpusImage) => e.kind === 'photo' || e.kind === 'texture';
  return [
    ...shuffled(pool.filter(photoLike), seed),
    ...shuffled(
      pool.filter((e) => !photoLike(e)),
      seed + 1,
    ),
  ].slice(0, count);
}

export interface StylePair {
  readonly query: string;
  readonly gallery: string;
  /** One image per key of the held-out style whose key the gallery has. */
  readonly queries: CorpusImage[];
  /** Every keyed image of the gallery style. */
  readonly galleryImages: CorpusImage[];
}

/** 'noto' for 'noto-v1': another version of the same drawings is no cross-style gallery. */
const vendor = (style: string) => style.split('-')[0]!;

/**
 * For each held-out style present: the trained style of the same kind sharing the most keys
 * with it (ties by name) as its gallery, other versions of the same vendor's set excluded.
 */
export function stylePairs(images: readonly CorpusImage[]): StylePair[] {
  const byStyle = new Map<string, CorpusImage[]>();
  for (const e of images) {
    if (e.key === null) continue;
    push(byStyle, `${e.kind}\u0000${e.style}`, e);
  }
  const out: StylePair[] = [];
  for (const [k, entries] of [...byStyle].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [kind, style] = k.split('\u0000') as [string, string];
    if (!HELDOUT_STYLES.includes(style)) continue;
    const keys = new Set(entries.map((e) => e.key));
    let best: { style: string; images: CorpusImage[]; overlap: number } | null = null;
    for (const [k2, other] of byStyle) {
      const [kind2, style2] = k2.split('\u0000') as [string, string];
      if (kind2 !== kind || vendor(style2) === vendor(style) || other.some((e) => isHeldOut(e)))
        continue;
      const overlap = new Set(other.filter((e) => keys.has(e.key)).map((e) => e.key)).size;
      if (!best || overlap > best.overlap || (overlap === best.overlap && style2 < best.style))
        best = { style: style2, images: other, overlap };
    }
    if (!best || best.overlap === 0) continue;
    const galleryKeys = new Set(best.images.map((e) => e.key));
    const seen = new Set<string>();
    const queries = entries.filter((e) => {
      if (!galleryKeys.has(e.key) || seen.has(e.key!)) return false;
      seen.add(e.key!);
      return true;
    });
    out.push({ query: style, gallery: best.style, queries, galleryImages: best.images });
  }
  return out;
}

/** Held-out styles with no keyed images in the corpus (reported as skipped). */
export function missingStyles(
  images: readonly CorpusImage[],
  pairs: readonly StylePair[],
): string[] {
  return HELDOUT_STYLES.filter((s) => !pairs.some((p) => p.query === s)).map((s) =>
    images.some((e) => e.style === s && e.key !== null)
      ? `${s} (no trained style of its kind shares its keys)`
      : `${s} (not in the corpus)`,
  );
}

export interface CategorySet {
  /** The source, with every openclipart source counted as one set. */
  readonly name: string;
  /** Images of categories with at least two held-out images, at most `cap` (seeded sample). */
  readonly images: CorpusImage[];
}

/**
 * The held-out labelled sets: the held-out sources (GCompris subject folders, art4apps) and the
 * held-out fifth of openclipart. (A held-out icon theme's folders are not a category set.)
 */
export function categorySets(
  images: readonly CorpusImage[],
  cap: number,
  seed: number,
): CategorySet[] {
  const sets = new Map<string, CorpusImage[]>();
  for (const e of images) {
    const labelled = HELDOUT_SOURCES.includes(e.source) || e.source.startsWith('openclipart');
    if (e.category === null || !labelled || !isHeldOut(e)) continue;
    push(sets, e.source.startsWith('openclipart') ? 'openclipart' : e.source, e);
  }
  return [...sets]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, all]) => {
      const count = new Map<string, number>();
      for (const e of all) count.set(e.category!, (count.get(e.category!) ?? 0) + 1);
      const kept = all.filter((e) => count.get(e.category!)! >= 2);
      return { name, images: shuffled(kept, seed).slice(0, cap) };
    })
    .filter((s) => s.images.length > 0);
}
