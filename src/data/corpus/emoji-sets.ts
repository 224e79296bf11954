/**
 * Emoji in six Iconify styles, keyed by code point. noto, twemoji and openmoji carry chars.json;
 * the others are matched by name against those three: noto-v1 names equal noto's, fxemoji names
 * equal them with hyphens removed, streamline-emojis names match exactly where they match at all.
 * noto-v1 and fxemoji are held out (holdout.ts) as unseen styles for cross-style retrieval.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  distinctNames,
  iconToSvg,
  loadIconifySet,
  plainRoot,
  resolveIcon,
  setCredit,
  setLicence,
  type IconifySet,
} from './iconify.js';
import { emojiKey, invertChars, matchByName, sharedKeyCount } from './keys.js';
import type { CorpusEntry, CorpusKind } from './manifest.js';
import type { CorpusSource } from './source.js';

/** Sets with chars.json, in the order their names are trusted for name matching. */
const CHAR_SETS = ['noto', 'twemoji', 'openmoji'] as const;
const NAME_SETS = { 'noto-v1': 'exact', fxemoji: 'loose', 'streamline-emojis': 'exact' } as const;

/** Code points per distinct icon name of each set (null where no match). */
export function emojiCodepoints(
  sets: Readonly<Record<string, IconifySet>>,
): Map<string, Map<string, string | null>> {
  const byName = new Map<string, string>();
  const out = new Map<string, Map<string, string | null>>();
  for (const style of CHAR_SETS) {
    const set = sets[style];
    if (!set) continue;
    const inv = invertChars(set.chars, (n) => plainRoot(set.json, n));
    for (const [n, cp] of inv) if (!byName.has(n)) byName.set(n, cp);
    out.set(style, new Map(distinctNames(set.json).map((n) => [n, inv.get(n) ?? null])));
  }
  for (const [style, mode] of Object.entries(NAME_SETS)) {
    const set = sets[style];
    if (!set) continue;
    const names = distinctNames(set.json);
    // noto-v1 follows noto's naming, so noto's own names come first for it.
    const ref =
      style === 'noto-v1' && sets['noto']
        ? new Map([...invertChars(sets['noto'].chars), ...byName])
        : byName;
    const m = matchByName(names, ref, mode === 'loose');
    out.set(style, new Map(names.map((n) => [n, m.get(n) ?? null])));
  }
  return out;
}

/** Writes every distinct icon of each set as `<style>/<name>.svg` with its key. */
export function writeIconifyStyles(
  dir: string,
  sets: Readonly<Record<string, IconifySet>>,
  keys: ReadonlyMap<string, ReadonlyMap<string, string | null>>,
  kind: CorpusKind,
  source: string,
): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  for (const [style, names] of keys) {
    const set = sets[style] as IconifySet;
    mkdirSync(join(dir, style), { recursive: true });
    for (const [name, key] of names) {
      const icon = resolveIcon(set.json, name);
      if (!icon) continue;
      const file = `${style}/${name}.svg`;
      writeFileSync(join(dir, file), iconToSvg(icon));
      entries.push({ file, source, kind, style, key, category: null, licence: setLicence(set) });
    }
  }
  return entries;
}

export const EMOJI_SOURCE: CorpusSource = {
  name: 'iconify-emoji',
  group: 'drawn',
  async fetch(dir, log) {
    const work = join(dir, '.work');
    const sets: Record<string, IconifySet> = {};
    for (const style of [...CHAR_SETS, ...Object.keys(NAME_SETS)]) {
      log(`  @iconify-json/${style}`);
      sets[style] = loadIconifySet(style, work);
    }
    rmSync(work, { recursive: true, force: true });
    const cps = emojiCodepoints(sets);
    const keys = new Map(
      [...cps].map(([style, m]) => [
        style,
        new Map([...m].map(([n, cp]) => [n, cp === null ? null : emojiKey(cp)])),
      ]),
    );
    const entries = writeIconifyStyles(dir, sets, keys, 'emoji', 'iconify-emoji');
    log(`  ${sharedKeyCount(entries)} emoji drawn in 3+ styles`);
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
