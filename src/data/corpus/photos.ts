/**
 * Real photographs (Debian packages; see docs/DATA.md for credits). They are scarce, so each is
 * kept as its original file; only tiny, blank and flat (UI-like) images are left out.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { keepPhotos, walkFiles, type Candidate, type CollectMeta } from './collect.js';
import type { FilterOptions } from './image-filter.js';
import { debianSource, type PackageTree } from './debian-source.js';
import { licenceFor } from './dep5.js';
import { edjWallpapers } from './edj-wallpapers.js';
import { gcomprisCandidates } from './gcompris.js';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';
import { TEXTURE_SOURCES } from './textures.js';

const IMAGE = /\.(jpe?g|png|webp)$/i;

function tree(trees: readonly PackageTree[]): PackageTree {
  const t = trees[0];
  if (!t) throw new Error('a photo source unpacked no package');
  return t;
}

/** Candidates for the image files under `sub` of the package that `pick` accepts. */
function filesUnder(
  t: PackageTree,
  sub: string,
  pick: (rel: string) => boolean,
  label: (rel: string) => Pick<Candidate, 'category' | 'key'>,
  licence: string,
): Candidate[] {
  const root = join(t.root, sub);
  return walkFiles(root)
    .filter((rel) => IMAGE.test(rel) && pick(rel))
    .map((rel) => ({
      out: rel,
      name: rel,
      read: () => readFileSync(join(root, rel)),
      ...label(rel),
      licence: licenceFor(t.copyright, join(sub, rel), licence),
    }));
}

const meta = (source: string): CollectMeta => ({ source, kind: 'photo', style: source });

/**
 * Packages whose chosen folders hold only photographs, many of them objects on white or stars on
 * black: only the size and blank checks apply, the flatness check would drop good photos.
 */
const CURATED: FilterOptions = { maxTopColour: 1, minColours: 0 };
const none = () => ({ category: null, key: null });

/** Planet and empty landscapes are renders, not photographs. */
const STELLARIUM_RENDERED = /^(jupiter|mars|neptune|saturn|sun|uranus|zero)\//;

async function stellarium(trees: readonly PackageTree[], dir: string, log: (m: string) => void) {
  const t = tree(trees);
  const base = 'usr/share/stellarium';
  interface Tile {
    imageUrl?: string;
    imageCredits?: Record<string, string>;
  }
  // Stellarium writes numbers such as '-.97', which JSON does not allow.
  const text = readFileSync(join(t.root, base, 'nebulae/default/textures.json'), 'utf8');
  const index = JSON.parse(text.replace(/([[,:\s])(-?)\.(\d)/g, '$1$20.$3')) as {
    subTiles?: Tile[];
  };
  const credits: Record<string, string> = {};
  for (const tile of index.subTiles ?? []) {
    const c = tile.imageCredits ?? {};
    const who = c['short'] ?? c['Short'];
    if (tile.imageUrl && who)
      credits[`nebulae/${tile.imageUrl}`] = c['infoUrl'] ? `${who} (${c['infoUrl']})` : who;
  }
  const nebulae = filesUnder(
    t,
    `${base}/nebulae/default`,
    () => true,
    () => ({ category: 'nebulae', key: null }),
    'GPL-2.0-or-later',
  ).map((c) => ({ ...c, out: `nebulae/${c.out}` }));
  const landscapes = filesUnder(
    t,
    `${base}/landscapes`,
    (rel) => !STELLARIUM_RENDERED.test(rel) && !/(fog|illum|-lgt)/i.test(basename(rel)),
    () => ({ category: 'landscapes', key: null }),
    'GPL-2.0-or-later',
  ).map((c) => ({ ...c, out: `landscapes/${c.out}` }));
  const entries = await keepPhotos(
    [...nebulae, ...landscapes],
    dir,
    meta('stellarium-data'),
    log,
    CURATED,
  );
  const kept = Object.fromEntries(
    entries.filter((e) => credits[e.file]).map((e) => [e.file, credits[e.file]]),
  );
  writeFileSync(join(dir, 'credits.json'), JSON.stringify(kept, null, 1) + '\n');
  return entries;
}

/**
 * Fotoxx's user guide shows an edit as a dialog screenshot ('red_eyes1') and then the result
 * ('red_eyes2', 'chromatic1A'). Screenshots are left out by a strict flatness limit; results
 * that share a stem are keyed together as the same photo.
 */
export function fotoxxStem(file: string): string {
  return basename(file)
    .replace(/\.[^.]+$/, '')
    .replace(/[-_ ]?(\d+[a-z]?|[ab])$/i, '')
    .toLowerCase();
}

export function keyFotoxx(entries: readonly CorpusEntry[]): CorpusEntry[] {
  const count = new Map<string, number>();
  for (const e of entries) count.set(fotoxxStem(e.file), (count.get(fotoxxStem(e.file)) ?? 0) + 1);
  return entries.map((e) => {
    const stem = fotoxxStem(e.file);
    return (count.get(stem) ?? 0) > 1 ? { ...e, key: `fotoxx:${stem}` } : e;
  });
}

/** A Palapeli puzzle's licence from its .desktop file ('Public Domain', 'FDL', 'GNU-FDL'). */
function palapeliLicence(desktop: string): string {
  const text = existsSync(desktop) ? readFileSync(desktop, 'utf8') : '';
  const stated = /^X-KDE-PluginInfo-License=(.+)$/m.exec(text)?.[1]?.trim() ?? '';
  if (/public domain/i.test(stated)) return 'public-domain';
  if (/fdl/i.test(stated)) return 'GFDL-1.2-or-later';
  return stated || 'GPL-2.0-or-later';
}

/** A source that keeps the images under `sub` of one package that `pick` accepts. */
function simple(
  name: string,
  sub: string,
  licence: string,
  credit: string,
  pick: (rel: string) => boolean,
  category: string | null,
  filter: FilterOptions = {},
  perFileLicences = true,
): CorpusSource {
  return debianSource({
    name,
    group: 'photos',
    packages: [name],
    licence,
    credit,
    build: (trees, dir, log) =>
      keepPhotos(
        filesUnder(
          perFileLicences ? tree(trees) : { ...tree(trees), copyright: [] },
          sub,
          pick,
          () => ({ category, key: null }),
          licence,
        ),
        dir,
        meta(name),
        log,
        filter,
      ),
  });
}

const PHOTOS: readonly CorpusSource[] = [
  debianSource({
    name: 'stellarium-data',
    group: 'photos',
    packages: ['stellarium-data'],
    licence: 'GPL-2.0-or-later',
    credit: 'Stellarium team; nebula photographs by the observers named in credits.json',
    build: stellarium,
  }),
  debianSource({
    name: 'gcompris-qt-data',
    group: 'photos',
    packages: ['gcompris-qt-data'],
    licence: 'GPL-3.0-or-later',
    credit: 'GCompris (KDE); photographers per debian/copyright (mostly Wikimedia Commons)',
    build: async (trees, dir, log) =>
      keepPhotos(gcomprisCandidates(tree(trees)), dir, meta('gcompris-qt-data'), log, CURATED),
  }),
  simple(
    'opencv-doc',
    'usr/share/doc/opencv-doc/examples',
    'Apache-2.0 AND BSD-3-Clause',
    'OpenCV sample data',
    (rel) => !/(mask|trimap|logo|result|output|digits)/i.test(rel),
    null,
  ),
  debianSource({
    name: 'fotoxx-common',
    group: 'photos',
    packages: ['fotoxx-common'],
    licence: 'GPL-3.0-or-later',
    credit: 'Fotoxx user guide images, Michael Cornelison',
    build: async (trees, dir, log) =>
      keyFotoxx(
        await keepPhotos(
          filesUnder(
            tree(trees),
            'usr/share/fotoxx/images',
            (rel) => /\.jpg$/i.test(rel) && !rel.includes('/'),
            none,
            'GPL-3.0-or-later',
          ),
          dir,
          meta('fotoxx-common'),
          log,
          { maxTopColour: 0.1 },
        ),
      ),
  }),
  simple(
    'kalzium-data',
    'usr/share/kalzium/data/toolpics',
    'GPL-2.0-or-later',
    'Kalzium (KDE) laboratory equipment photos',
    () => true,
    'lab-equipment',
    CURATED,
  ),
  debianSource({
    name: 'palapeli-data',
    group: 'photos',
    packages: ['palapeli-data'],
    licence: 'public-domain, GFDL-1.2-or-later (per image)',
    credit: 'Palapeli (KDE) puzzle photos; author and licence of each in its .desktop file',
    build: async (trees, dir, log) => {
      const sub = 'usr/share/palapeli/collection';
      const t = tree(trees);
      const cands = filesUnder(t, sub, () => true, none, 'GPL-2.0-or-later').map((c) => ({
        ...c,
        licence: palapeliLicence(join(t.root, sub, c.name.replace(/\.[^.]+$/, '.desktop'))),
      }));
      return keepPhotos(cands, dir, meta('palapeli-data'), log, CURATED);
    },
  }),
  simple(
    'lxqt-themes',
    'usr/share/lxqt/wallpapers',
    'CC-BY-SA-3.0',
    'LXQt Project Team (wallpapers by stefonarch and others)',
    // The rendered logo and origami backgrounds are not photographs.
    (rel) => !/(origami|logo|triangles|waves|plasma|simple_blue|beam|valendas)/i.test(rel),
    'wallpapers',
    {},
    // debian/copyright lists only kde-plasma.png; wallpapers/License gives CC-BY-SA-3.0.
    false,
  ),
  debianSource({
    name: 'enlightenment-data',
    group: 'photos',
    packages: ['enlightenment-data'],
    licence: 'BSD-2-Clause',
    credit: 'Enlightenment project wallpapers',
    build: async (trees, dir, log) =>
      keepPhotos(
        edjWallpapers(join(tree(trees).root, 'usr/share/enlightenment/data/backgrounds')),
        dir,
        meta('enlightenment-data'),
        log,
      ),
  }),
];

/** The list fetch.ts registers: the 'photos' group and the 'textures' group (textures.ts). */
export const PHOTO_SOURCES: readonly CorpusSource[] = [...PHOTOS, ...TEXTURE_SOURCES];
