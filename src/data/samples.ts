/**
 * The sample library that `npm start` ingests: held-out emoji (never seen in training) drawn by
 * all three vendors, copied unmodified from the packages with their licences, so the demo shows
 * the model finding the same emoji across drawing styles; and real photographs (sample-photos.ts)
 * when the general corpus is in the cache. Rebuilt with `matsearch data --samples`.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../util/rng.js';
import { loadEmoji, splitEmoji } from './emoji.js';
import { dataDir } from './paths.js';
import { samplePhotosAttribution, type SamplePhoto } from './sample-photos.js';

interface Entry {
  unified: string;
  short_name: string;
  image: string;
}

/**
 * Writes the emoji into `outDir` (replaced) and ATTRIBUTION.md, crediting `photos` too when the
 * caller has written them (into `outDir/photos`, after this call).
 */
export function writeSamples(
  outDir: string,
  count = 100,
  root = dataDir(),
  photos: readonly SamplePhoto[] = [],
): number {
  const all = loadEmoji(root);
  const held = splitEmoji(all, 0.8, 0).test.classes; // the model's held-out emoji ids
  const ids = new Rng(1)
    .shuffle([...held])
    .slice(0, count)
    .sort();
  const list = JSON.parse(
    readFileSync(join(root, 'emoji', 'twitter', 'emoji.json'), 'utf8'),
  ) as Entry[];
  const byId = new Map(list.map((e) => [e.unified.toLowerCase(), e]));
  rmSync(outDir, { recursive: true, force: true });
  for (const v of ['twemoji', 'noto', 'openmoji']) mkdirSync(join(outDir, v), { recursive: true });
  for (const id of ids) {
    const e = byId.get(id)!;
    const name = `${e.short_name.replace(/[^a-z0-9_+-]/gi, '_')}`;
    copyFileSync(
      join(root, 'emoji', 'twitter', 'img', 'twitter', '64', e.image),
      join(outDir, 'twemoji', `${name}.png`),
    );
    copyFileSync(
      join(root, 'emoji', 'google', 'img', 'google', '64', e.image),
      join(outDir, 'noto', `${name}.png`),
    );
    copyFileSync(
      join(root, 'emoji', 'openmoji', 'color', 'svg', `${e.unified.toUpperCase()}.svg`),
      join(outDir, 'openmoji', `${name}.svg`),
    );
  }
  writeFileSync(
    join(outDir, 'ATTRIBUTION.md'),
    [
      '# Sample images',
      '',
      `${ids.length} emoji, each drawn by three vendors, none of them seen when training the emoji`,
      'model (they come from its held-out split)' +
        (photos.length > 0 ? ', and photographs the general model never trained on.' : '.') +
        ' Made with',
      '`npx matsearch data --corpus photos --samples samples`.',
      '',
      '- `twemoji/`: Twemoji graphics by Twitter, Inc and other contributors, CC-BY 4.0',
      '  (https://creativecommons.org/licenses/by/4.0/), from npm `emoji-datasource-twitter`.',
      '- `noto/`: Noto Emoji by Google, Apache License 2.0, from npm `emoji-datasource-google`.',
      '- `openmoji/`: OpenMoji, the open-source emoji and icon project, CC BY-SA 4.0',
      '  (https://creativecommons.org/licenses/by-sa/4.0/), from npm `openmoji`.',
      ...(photos.length > 0 ? samplePhotosAttribution('photos', photos) : []),
      '',
      'The emoji files are copied unmodified.',
      '',
    ].join('\n'),
  );
  return ids.length;
}
