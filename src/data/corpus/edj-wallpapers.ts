/** Enlightenment .edj wallpaper themes as photo candidates. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Candidate } from './collect.js';
import { findEmbeddedImages, pickWallpapers } from './extract-edj.js';

export function edjWallpapers(folder: string): Candidate[] {
  const out: Candidate[] = [];
  for (const f of readdirSync(folder)
    .filter((n) => n.endsWith('.edj'))
    .sort()) {
    const picked = pickWallpapers(findEmbeddedImages(readFileSync(join(folder, f))));
    const stem = f.replace(/\.edj$/, '');
    for (const [k, img] of picked.entries()) {
      const name = `backgrounds/${stem}${picked.length > 1 ? `-${k + 1}` : ''}.jpg`;
      out.push({
        out: name,
        name,
        read: () => img.data,
        category: 'wallpapers',
        key: null,
        licence: 'BSD-2-Clause',
      });
    }
  }
  return out;
}
