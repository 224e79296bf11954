/**
 * Labelled clip art for category retrieval: openclipart PNGs (category = top folder; a hashed
 * fifth is held out, holdout.ts) and the art4apps cartoons shipped with pysiogame (category =
 * folder; held out whole). Images are used as found.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { walkFiles } from './files.js';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';
import { unpackDebian } from '../fetch.js';

/** openclipart's 'computer' and 'shapes' folders hold ~1,700 images each: cap every category. */
const MAX_PER_CATEGORY = 500;

/**
 * Up to `max` files per category (top folder), chosen by a hash of the path so the choice is
 * stable; folders in `skip` (no usable label) left out.
 */
export function capPerCategory(
  files: readonly string[],
  max: number,
  skip: readonly string[] = [],
): { file: string; category: string }[] {
  const by = new Map<string, string[]>();
  for (const f of files) {
    const cat = f.includes('/') ? f.slice(0, f.indexOf('/')) : null;
    if (cat === null || skip.includes(cat)) continue;
    const list = by.get(cat);
    if (list) list.push(f);
    else by.set(cat, [f]);
  }
  const hash = (s: string) => createHash('sha256').update(s).digest('hex');
  const out: { file: string; category: string }[] = [];
  for (const [category, list] of [...by].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const chosen = list
      .map((f) => ({ f, h: hash(f) }))
      .sort((a, b) => (a.h < b.h ? -1 : 1))
      .slice(0, max)
      .map((x) => x.f)
      .sort();
    for (const file of chosen) out.push({ file, category });
  }
  return out;
}

function folderSource(opts: {
  name: string;
  pkg: string;
  folder: string;
  ext: RegExp;
  style: string;
  kind: 'clipart' | 'drawing';
  licence: string;
  credit: string;
  max: number;
  skip: readonly string[];
}): CorpusSource {
  return {
    name: opts.name,
    group: 'drawn',
    async fetch(dir, log) {
      const dest = join(dir, '.work');
      const version = unpackDebian(opts.pkg, dest);
      const root = join(dest, opts.folder);
      const files = walkFiles(root).filter((f) => opts.ext.test(f));
      const entries: CorpusEntry[] = capPerCategory(files, opts.max, opts.skip).map(
        ({ file, category }) => {
          mkdirSync(dirname(join(dir, file)), { recursive: true });
          copyFileSync(join(root, file), join(dir, file));
          return {
            file,
            source: opts.name,
            kind: opts.kind,
            style: opts.style,
            key: null,
            category,
            licence: opts.licence,
          };
        },
      );
      rmSync(dest, { recursive: true, force: true });
      log(
        `  ${entries.length} of ${files.length} images in ${new Set(entries.map((e) => e.category)).size} categories`,
      );
      return {
        info: {
          packages: [`debian:${opts.pkg}=${version}`],
          licence: opts.licence,
          credit: opts.credit,
        },
        entries,
      };
    },
  };
}

export const OPENCLIPART_SOURCE = folderSource({
  name: 'openclipart-png',
  pkg: 'openclipart-png',
  folder: 'usr/share/openclipart/png',
  ext: /\.png$/i,
  style: 'openclipart',
  kind: 'clipart',
  licence: 'public-domain',
  credit: 'Open Clip Art Library contributors',
  max: MAX_PER_CATEGORY,
  skip: ['unsorted'],
});

export const ART4APPS_SOURCE = folderSource({
  name: 'art4apps',
  pkg: 'pysiogame',
  folder: 'usr/share/games/pysiogame/res/images/art4apps',
  ext: /\.(jpg|png)$/i,
  style: 'art4apps',
  kind: 'drawing',
  licence: 'GPL-3.0-or-later',
  credit: 'art4apps.org drawings, as packaged with pysiogame by Ireneusz Imiolek',
  max: Infinity,
  skip: [],
});
