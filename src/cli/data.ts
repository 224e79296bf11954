/** `matsearch data` (`npm run data`): fetch the training and evaluation sets into the cache. */
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { corpusDir, sourceDone } from '../data/corpus/manifest.js';
import { rasterCorpus } from '../data/corpus/raster.js';
import type { Command } from './main.js';
import { fetchEmoji, fetchFashionMnist } from '../data/fetch.js';
import { buildEmojiCache } from '../data/emoji.js';
import { dataDir } from '../data/paths.js';
import { writeSamples } from '../data/samples.js';
import { writeSamplePhotos } from '../data/sample-photos.js';
import { join } from 'node:path';
import { fetchCorpus, selectSources } from '../data/corpus/fetch.js';
import { MatsearchError, ValidationError } from '../errors.js';

export const dataCommand: Command = {
  summary: 'fetch Fashion-MNIST (Debian) and the emoji sets (npm) into .cache/data',
  usage:
    '[--only fmnist|emoji|corpus ...] [--corpus all|photos|textures|drawn|NAME] [--samples DIR [--count N] [--photos N]]',
  options: {
    only: { type: 'string', multiple: true },
    samples: { type: 'string' },
    count: { type: 'string', default: '100' },
    photos: { type: 'string', default: '40' },
    corpus: { type: 'string' },
  },
  async run(v) {
    const parts = dataParts(v['only'] as string[] | undefined, v['corpus'] as string | undefined);
    const root = dataDir();
    mkdirSync(root, { recursive: true });
    if (parts.has('fmnist')) console.log(`Fashion-MNIST: ${fetchFashionMnist(root)}`);
    if (parts.has('emoji')) {
      for (const [v, p] of Object.entries(fetchEmoji(root))) console.log(`emoji ${v}: ${p}`);
      const info = await buildEmojiCache(root);
      console.log(
        `emoji raster cache: ${info.path} (${info.count} emoji drawn by all three vendors)`,
      );
    }
    if (parts.has('corpus')) {
      const r = await fetchCorpus(selectSources(String(v['corpus'] ?? 'all')), root);
      console.log(
        `corpus: ${r.fetched.length} fetched, ${r.skipped.length} already there, ${r.failed.length} failed`,
      );
      // Rasterised now, so the first training run starts at once.
      await rasterCorpus(readdirSync(corpusDir(root)).sort(), { root, log: (s) => console.log(s) });
      if (r.failed.length > 0)
        throw new MatsearchError(
          'E_FETCH',
          `corpus sources failed: ${r.failed.map((f) => `${f.name} (${f.error})`).join('; ')}; run again to retry them`,
        );
    }
    if (typeof v['samples'] === 'string') {
      const dir = v['samples'];
      const wantPhotos = Number(v['photos']);
      // The photos come from the general corpus; without it the samples are emoji only.
      const photoSource = 'gcompris-qt-data';
      const havePhotos = wantPhotos > 0 && sourceDone(photoSource, root);
      if (wantPhotos > 0 && !havePhotos)
        console.log(`sample photos: skipped (run 'matsearch data --corpus ${photoSource}' first)`);
      // writeSamples replaces the folder, so the photos are made in the cache first, copied in after.
      const tmp = join(root, 'sample-photos');
      const photos = havePhotos ? await writeSamplePhotos(tmp, wantPhotos, 10, root) : [];
      const n = writeSamples(dir, Number(v['count']), root, photos);
      if (havePhotos) {
        cpSync(tmp, join(dir, 'photos'), { recursive: true });
        rmSync(tmp, { recursive: true, force: true });
      }
      console.log(
        `sample images: ${n} held-out emoji x 3 vendors` +
          (havePhotos ? ` and ${photos.length} photos` : '') +
          ` in ${dir}`,
      );
    }
  },
};

export type DataPart = 'fmnist' | 'emoji' | 'corpus';
const PARTS: readonly DataPart[] = ['fmnist', 'emoji', 'corpus'];

/**
 * What `matsearch data` fetches: `--only` names the parts; without it, Fashion-MNIST and the emoji
 * sets, plus the corpus when `--corpus` selects sources (`--only corpus` alone means all of it).
 */
export function dataParts(only: readonly string[] | undefined, corpus?: string): Set<DataPart> {
  if (only === undefined || only.length === 0)
    return new Set<DataPart>(corpus !== undefined ? PARTS : ['fmnist', 'emoji']);
  const out = new Set<DataPart>();
  for (const o of only.flatMap((x) => x.split(','))) {
    if (!PARTS.includes(o as DataPart))
      throw new ValidationError(`--only takes ${PARTS.join(', ')}; got '${o}'`);
    out.add(o as DataPart);
  }
  if (corpus !== undefined && !out.has('corpus'))
    throw new ValidationError(
      `--corpus ${corpus} fetches the corpus: add --only corpus, or drop --only`,
    );
  return out;
}
