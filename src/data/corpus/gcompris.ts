/**
 * GCompris photos, read out of its Qt resource files. Only the activity folders that hold
 * photographs are taken (the rest are drawings, jigsaw pieces and UI). Each gets a subject
 * category for category retrieval; the 'details' and 'babyshapes' activities cut circles and
 * shapes out of a whole picture, so a cut-out shares its picture's key ('gcompris:<picture>'),
 * a ready-made copy-detection positive. All of it is held out (holdout.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Candidate } from './collect.js';
import type { PackageTree } from './debian-source.js';
import { licenceFor } from './dep5.js';
import { readRcc } from './extract-rcc.js';

const ACTIVITY = /^gcompris\/src\/activities\/([^/]+)\/resource\/(.+)$/;
const PAINTING = /(gogh|tanguy|cafe|auvers|bosschaert|gauguin|bruegel|unicorn)/i;

/** Category and key for a path inside the activities tree, or null when it is no photo. */
export function gcomprisLabel(path: string): Pick<Candidate, 'category' | 'key'> | null {
  const m = ACTIVITY.exec(path);
  if (!m || !/\.(webp|jpe?g|png)$/i.test(path)) return null;
  const activity = m[1] as string;
  const rest = m[2] as string;
  const file = rest.split('/').pop() as string;
  const stem = file.replace(/\.[^.]+$/, '');
  switch (activity) {
    case 'categorization': {
      const folder = /^images\/([^/]+)\//.exec(rest)?.[1];
      if (!folder || folder === 'alphabets' || folder === 'numbers') return null;
      return { category: folder === 'others' ? 'objects' : folder, key: null };
    }
    case 'erase':
    case 'explore_farm_animals':
    case 'explore_world_animals':
      return { category: 'animals', key: null };
    case 'explore_monuments':
      return { category: 'monuments', key: null };
    case 'explore_world_music':
      return { category: 'instruments', key: null };
    case 'solar_system':
      return { category: 'planets', key: null };
    case 'leftright':
      return { category: 'hands', key: null };
    case 'louis-braille':
      return /^(chart|braille|rnib|night)/.test(stem) ? null : { category: null, key: null };
    case 'details':
    case 'babyshapes': {
      if (!rest.startsWith('image/')) return null;
      // 'Gogh4_3' and 'Gogh4_background' are parts of picture 'Gogh4'.
      const picture = stem.replace(/_[^_]+$/, '');
      return {
        category: PAINTING.test(picture) ? 'paintings' : 'monuments',
        key: `gcompris:${picture}`,
      };
    }
    default:
      return null;
  }
}

export function gcomprisCandidates(t: PackageTree): Candidate[] {
  const folder = join(t.root, 'usr/share/gcompris-qt/rcc');
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (const f of readdirSync(folder)
    .filter((n) => n.endsWith('.rcc'))
    .sort()) {
    for (const r of readRcc(readFileSync(join(folder, f)))) {
      const label = gcomprisLabel(r.path);
      // The same image can sit in several .rcc files (shared resources).
      if (!label || seen.has(r.path)) continue;
      seen.add(r.path);
      const rel = r.path.replace(/^gcompris\/src\/activities\//, '');
      out.push({
        out: rel,
        name: rel,
        read: () => r.data,
        ...label,
        licence: licenceFor(t.copyright, r.path.replace(/^gcompris\//, ''), 'GPL-3.0-or-later'),
      });
    }
  }
  return out;
}
