/**
 * Iconify icon and logo sets: the same concept ('home', 'react') drawn by several sets. One image
 * per set and name (weight variants dropped), only names drawn by 3+ sets, ~1,500 names a family.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeIconifyStyles } from './emoji-sets.js';
import {
  distinctNames,
  loadIconifySet,
  setCredit,
  setLicence,
  type IconifySet,
} from './iconify.js';
import {
  baseNames,
  capByKeys,
  keepShared,
  normaliseIconName,
  normaliseLogoName,
  sharedKeyCount,
} from './keys.js';
import type { CorpusKind } from './manifest.js';
import type { CorpusSource } from './source.js';

const MAX_KEYS = 1500;
const MAX_IMAGES = 12000;

interface Pick {
  readonly style: string;
  readonly name: string;
  readonly key: string | null;
}

/**
 * One name per set and key (the shortest, then first in order), keys drawn by 3+ sets, capped.
 * `keyOf` gives a name's key or null to leave it out.
 */
export function pickFamily(
  namesBySet: ReadonlyMap<string, readonly string[]>,
  keyOf: (style: string, name: string) => string | null,
  maxKeys = MAX_KEYS,
  maxImages = MAX_IMAGES,
): Pick[] {
  const picks: Pick[] = [];
  for (const [style, names] of namesBySet) {
    const byKey = new Map<string, string>();
    for (const name of names) {
      const key = keyOf(style, name);
      if (key === null) continue;
      const had = byKey.get(key);
      if (had === undefined || name.length < had.length) byKey.set(key, name);
    }
    for (const [key, name] of byKey) picks.push({ style, name, key });
  }
  return capByKeys(keepShared(picks), maxImages, maxKeys);
}

function familySource(
  name: string,
  kind: CorpusKind,
  setNames: readonly string[],
  keyOf: (style: string, name: string) => string | null,
): CorpusSource {
  return {
    name,
    group: 'drawn',
    async fetch(dir, log) {
      const work = join(dir, '.work');
      const sets: Record<string, IconifySet> = {};
      const names = new Map<string, string[]>();
      for (const s of setNames) {
        log(`  @iconify-json/${s}`);
        const set = loadIconifySet(s, work);
        sets[s] = set;
        names.set(s, baseNames(distinctNames(set.json)));
      }
      rmSync(work, { recursive: true, force: true });
      const keys = new Map<string, Map<string, string | null>>();
      for (const p of pickFamily(names, keyOf)) {
        let m = keys.get(p.style);
        if (!m) keys.set(p.style, (m = new Map()));
        m.set(p.name, p.key);
      }
      const entries = writeIconifyStyles(dir, sets, keys, kind, name);
      log(`  ${sharedKeyCount(entries)} names drawn by 3+ sets`);
      const all = Object.values(sets);
      return {
        info: {
          packages: all.map((s) => s.pkg),
          licence: [...new Set(all.map(setLicence))].join(' AND '),
          credit: all.map(setCredit).join('; '),
        },
        entries,
      };
    },
  };
}

/** Line and colour icon sets; names are compared as they stand (case and separators aside). */
export const ICON_SETS = [
  'mdi',
  'tabler',
  'lucide',
  'ph',
  'material-symbols',
  'flat-color-icons',
  'icon-park',
  'streamline-color',
] as const;

/** Logo sets; vscode-icons counts only its 'file-type-*' logos, not folders or UI icons. */
export const LOGO_SETS = ['logos', 'skill-icons', 'vscode-icons', 'devicon'] as const;

export const ICONIFY_ICONS_SOURCE = familySource(
  'iconify-icons',
  'icon',
  ICON_SETS,
  (_s, n) => `icon:${normaliseIconName(n)}`,
);

export const ICONIFY_LOGOS_SOURCE = familySource('iconify-logos', 'logo', LOGO_SETS, (s, n) =>
  s === 'vscode-icons' && !n.startsWith('file-type-') ? null : `logo:${normaliseLogoName(n)}`,
);
