/**
 * What the general model never trains on. One rule, used by the rasteriser, the trainer and the
 * evaluation, so a held-out image cannot leak into training by another path.
 *   - Copy detection and photo categories: every GCompris photo (its subject folders give the
 *     categories).
 *   - Cross-style retrieval: two whole emoji styles (noto-v1, fxemoji) and one whole icon theme
 *     (oxygen), queried against galleries of trained styles.
 *   - Category retrieval on drawings: all of art4apps, and a seeded fifth of openclipart chosen
 *     by file name hash (stable whatever else the corpus holds).
 */
import { createHash } from 'node:crypto';
import type { CorpusEntry } from './manifest.js';

export const HELDOUT_PHOTO_SOURCES: readonly string[] = ['gcompris-qt-data'];
export const HELDOUT_STYLES: readonly string[] = ['noto-v1', 'fxemoji', 'oxygen'];
export const HELDOUT_SOURCES: readonly string[] = [...HELDOUT_PHOTO_SOURCES, 'art4apps'];
export const OPENCLIPART_HELDOUT_FRACTION = 0.2;

/** Uniform in [0, 1) from a string, the same on every machine. */
function hashUnit(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32BE(0) / 4294967296;
}

export function isHeldOut(e: Pick<CorpusEntry, 'source' | 'style' | 'file'>): boolean {
  if (HELDOUT_SOURCES.includes(e.source)) return true;
  if (HELDOUT_STYLES.includes(e.style)) return true;
  if (e.source.startsWith('openclipart'))
    return hashUnit(`openclipart:${e.file}`) < OPENCLIPART_HELDOUT_FRACTION;
  return false;
}
