/**
 * The rasterised corpus as an ImageSet, split three ways by one rule each:
 *   - 'heldout': what holdout.ts names; only the evaluation reads it.
 *   - 'val': a seeded 2% of everything else, by file-name hash, for checks during training and
 *     for pilot runs (so choosing an architecture never looks at the held-out sets).
 *   - 'train': the rest.
 * Labels are cross-style identities: images that share a `key` share a label (the same emoji in
 * five styles is one label); an image without a key is a label of its own. `groups` index the
 * style, so a check can ask for "the same thing in another style".
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { NotFoundError } from '../../errors.js';
import type { ImageSet } from '../image-set.js';
import { dataDir } from '../paths.js';
import { readRasterCache } from '../raster-cache.js';
import { isHeldOut } from './holdout.js';
import { corpusDir, readManifest, sourceDone, type CorpusEntry } from './manifest.js';
import { CORPUS_RASTER_SIZE, rasterPath, type RasterHeader } from './raster.js';

export type CorpusSplit = 'train' | 'val' | 'heldout';
export const VAL_FRACTION = 0.02;

export interface CorpusSet extends ImageSet {
  /** Manifest entry of each image. */
  readonly entries: readonly CorpusEntry[];
}

function hashUnit(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32BE(0) / 4294967296;
}

export function splitOf(e: CorpusEntry): CorpusSplit {
  if (isHeldOut(e)) return 'heldout';
  return hashUnit(`val:${e.source}/${e.file}`) < VAL_FRACTION ? 'val' : 'train';
}

/** Sources with a finished raster, sorted (so label numbering is stable). */
export function rasterisedSources(size = CORPUS_RASTER_SIZE, root = dataDir()): string[] {
  const dir = corpusDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((s) => sourceDone(s, root) && existsSync(rasterPath(s, size, root)))
    .sort();
}

export function loadCorpus(
  split: CorpusSplit,
  o: { size?: number; root?: string; sources?: readonly string[] } = {},
): CorpusSet {
  const S = o.size ?? CORPUS_RASTER_SIZE;
  const root = o.root ?? dataDir();
  const sources = o.sources ?? rasterisedSources(S, root);
  if (sources.length === 0)
    throw new NotFoundError(
      `no rasterised corpus under ${corpusDir(root)}: run 'matsearch data --corpus all' first`,
    );
  const per = S * S * 3;
  const parts: { pixels: Uint8Array; rows: number[] }[] = [];
  const entries: CorpusEntry[] = [];
  for (const s of sources) {
    const manifest = readManifest(s, root);
    const { header, pixels } = readRasterCache<RasterHeader>(rasterPath(s, S, root));
    const keep = header.rows.flatMap((row, k) => (splitOf(manifest[row]!) === split ? [k] : []));
    parts.push({ pixels, rows: keep });
    for (const k of keep) entries.push(manifest[header.rows[k]!]!);
  }
  const pixels = new Uint8Array(entries.length * per);
  let at = 0;
  for (const p of parts)
    for (const k of p.rows) pixels.set(p.pixels.subarray(k * per, (k + 1) * per), per * at++);
  const labelOf = new Map<string, number>();
  const labels = Int32Array.from(entries, (e, i) => {
    const id = e.key ?? `#${i}`;
    let l = labelOf.get(id);
    if (l === undefined) labelOf.set(id, (l = labelOf.size));
    return l;
  });
  const styles = [...new Set(entries.map((e) => e.style))].sort();
  const styleIndex = new Map(styles.map((s, i) => [s, i]));
  return {
    name: `corpus-${split}`,
    size: S,
    channels: 3,
    pixels,
    labels,
    classes: [...labelOf.keys()],
    groups: Int32Array.from(entries, (e) => styleIndex.get(e.style)!),
    groupNames: styles,
    entries,
  };
}
