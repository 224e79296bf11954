/**
 * The shared second half of every photo and texture source: candidate images in, filtered
 * files and manifest entries out. Photos are kept byte for byte (they are scarce, and copy
 * detection wants the original); textures are re-encoded small, since there are many.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CorpusEntry, CorpusKind } from './manifest.js';
import { imageStats, openImage, rejectReason, type FilterOptions } from './image-filter.js';
import { Rng } from '../../util/rng.js';

export interface Candidate {
  /** Destination path relative to the source folder (textures get their extension replaced). */
  readonly out: string;
  /** Name whose extension picks the decoder. */
  readonly name: string;
  readonly read: () => Buffer;
  readonly category: string | null;
  readonly key: string | null;
  readonly licence: string;
}

export interface CollectMeta {
  readonly source: string;
  readonly kind: CorpusKind;
  readonly style: string;
}

/** Every file under `root`, as '/'-separated paths relative to it, sorted. */
export function walkFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) visit(path);
      else if (d.isFile()) out.push(path);
    }
  };
  visit('');
  return out.sort();
}

/**
 * A seeded order of `items` that takes one from each group in turn (groups and their members
 * shuffled), so any prefix spreads across groups and small groups are used whole.
 */
export function spreadOrder<T>(items: readonly T[], group: (t: T) => string, seed: number): T[] {
  const rng = new Rng(seed);
  const shuffle = <U>(a: U[]): U[] => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [a[i], a[j]] = [a[j] as U, a[i] as U];
    }
    return a;
  };
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const g = group(it);
    const list = groups.get(g);
    if (list) list.push(it);
    else groups.set(g, [it]);
  }
  const lists = shuffle([...groups.keys()].sort()).map((k) => shuffle([...(groups.get(k) ?? [])]));
  const out: T[] = [];
  for (let round = 0; out.length < items.length; round++)
    for (const l of lists) if (round < l.length) out.push(l[round] as T);
  return out;
}

function entry(meta: CollectMeta, c: Candidate, file: string): CorpusEntry {
  return {
    file,
    source: meta.source,
    kind: meta.kind,
    style: meta.style,
    key: c.key,
    category: c.category,
    licence: c.licence,
  };
}

function tally(log: (m: string) => void, source: string, rejected: Map<string, number>): void {
  if (rejected.size > 0)
    log(`corpus: ${source}: left out ${[...rejected].map(([r, n]) => `${n} ${r}`).join(', ')}`);
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** Keeps each candidate that passes the filter as its original bytes under `dir`. */
export async function keepPhotos(
  candidates: readonly Candidate[],
  dir: string,
  meta: CollectMeta,
  log: (m: string) => void,
  filter: FilterOptions = {},
): Promise<CorpusEntry[]> {
  const out: CorpusEntry[] = [];
  const rejected = new Map<string, number>();
  for (const c of candidates) {
    const data = c.read();
    let reason: string | null;
    try {
      reason = rejectReason(await imageStats(openImage(data, c.name)), filter);
    } catch {
      reason = 'undecodable';
    }
    if (reason) {
      bump(rejected, reason);
      continue;
    }
    mkdirSync(dirname(join(dir, c.out)), { recursive: true });
    writeFileSync(join(dir, c.out), data);
    out.push(entry(meta, c, c.out));
  }
  tally(log, meta.source, rejected);
  return out;
}

/** Longest side of a stored texture. */
export const TEXTURE_SIDE = 256;

/**
 * Takes candidates in order until `limit` pass the filter, each re-encoded as a JPEG (q90) of
 * at most TEXTURE_SIDE px, with any transparency flattened on mid grey.
 */
export async function encodeTextures(
  candidates: readonly Candidate[],
  dir: string,
  meta: CollectMeta,
  limit: number,
  log: (m: string) => void,
  filter: FilterOptions = {},
): Promise<CorpusEntry[]> {
  const out: CorpusEntry[] = [];
  const rejected = new Map<string, number>();
  const one = async (c: Candidate): Promise<CorpusEntry | null> => {
    try {
      const img = openImage(c.read(), c.name, TEXTURE_SIDE);
      const reason = rejectReason(await imageStats(img), filter);
      if (reason) {
        bump(rejected, reason);
        return null;
      }
      const file = c.out.replace(/\.[^./]+$/, '') + '.jpg';
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      await img
        .resize(TEXTURE_SIDE, TEXTURE_SIDE, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: { r: 128, g: 128, b: 128 } })
        .jpeg({ quality: 90 })
        .toFile(join(dir, file));
      return entry(meta, c, file);
    } catch {
      bump(rejected, 'undecodable');
      return null;
    }
  };
  // Two at a time: sharp works off the main thread, the DDS/TGA decoders on it.
  for (let i = 0; i < candidates.length && out.length < limit;) {
    const n = Math.min(2, limit - out.length);
    const batch = await Promise.all(candidates.slice(i, i + n).map(one));
    i += n;
    for (const e of batch) if (e) out.push(e);
  }
  tally(log, meta.source, rejected);
  return out;
}
