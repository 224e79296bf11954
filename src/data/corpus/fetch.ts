/**
 * `matsearch data --corpus all|photos|textures|drawn|procedural|NAME`: fetches corpus sources into
 * `<data>/corpus/`, skipping those already complete. A failed source is reported and the others
 * go on; the command fails at the end if any did.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { DRAWN_SOURCES } from './drawn.js';
import { sourceDir, sourceDone, writeSource } from './manifest.js';
import { PHOTO_SOURCES } from './photos.js';
import { proceduralSource } from './procedural.js';
import type { CorpusSource } from './source.js';
import { ValidationError } from '../../errors.js';
import { dataDir } from '../paths.js';

/** Procedural scenes come last: they compose the rasters of the others. */
export const CORPUS_SOURCES: readonly CorpusSource[] = [
  ...PHOTO_SOURCES,
  ...DRAWN_SOURCES,
  proceduralSource,
];

export function selectSources(which: string): CorpusSource[] {
  if (which === 'all') return [...CORPUS_SOURCES];
  const chosen = CORPUS_SOURCES.filter((s) => s.group === which || s.name === which);
  if (chosen.length === 0)
    throw new ValidationError(
      `unknown corpus part '${which}': use all, photos, textures, drawn, procedural or one of ` +
        CORPUS_SOURCES.map((s) => s.name).join(', '),
    );
  return chosen;
}

export async function fetchCorpus(
  sources: readonly CorpusSource[],
  root = dataDir(),
  log: (msg: string) => void = (s) => console.log(s),
): Promise<{ fetched: string[]; skipped: string[]; failed: { name: string; error: string }[] }> {
  const out = {
    fetched: [] as string[],
    skipped: [] as string[],
    failed: [] as { name: string; error: string }[],
  };
  for (const s of sources) {
    if (sourceDone(s.name, root)) {
      out.skipped.push(s.name);
      continue;
    }
    const dir = sourceDir(s.name, root);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    log(`corpus: fetching ${s.name}...`);
    try {
      const { info, entries } = await s.fetch(dir, log);
      const done = writeSource({ ...info, source: s.name }, entries, root);
      log(`corpus: ${s.name}: ${done.images} images`);
      out.fetched.push(s.name);
    } catch (err) {
      const error = (err as Error).message;
      log(`corpus: ${s.name} failed: ${error}`);
      out.failed.push({ name: s.name, error });
    }
  }
  return out;
}
