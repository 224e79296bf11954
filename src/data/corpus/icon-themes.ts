/**
 * Freedesktop icon themes from Debian: the same icon name ('document-save', 'firefox') drawn by
 * each theme. One image per theme and name (the scalable SVG, else the largest raster), symbolic
 * (monochrome) copies skipped, and only names drawn by 3+ themes kept. oxygen is held out.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { walkFiles, keepRenderable } from './files.js';
import { capByKeys, keepShared, normaliseIconName, sharedKeyCount } from './keys.js';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';
import { unpackDebian } from '../fetch.js';

interface Theme {
  readonly pkg: string;
  /** Folder under /usr/share/icons/. */
  readonly folder: string;
  readonly style: string;
  readonly licence: string;
  readonly credit: string;
}

const THEMES: readonly Theme[] = [
  {
    pkg: 'papirus-icon-theme',
    folder: 'Papirus',
    style: 'papirus',
    licence: 'GPL-3.0',
    credit: 'Papirus Development Team',
  },
  {
    pkg: 'adwaita-icon-theme',
    folder: 'Adwaita',
    style: 'adwaita',
    licence: 'CC-BY-SA-3.0 OR LGPL-3.0',
    credit: 'GNOME Project',
  },
  {
    pkg: 'breeze-icon-theme',
    folder: 'breeze',
    style: 'breeze',
    licence: 'LGPL-3.0-or-later',
    credit: 'KDE Visual Design Group',
  },
  {
    pkg: 'numix-icon-theme',
    folder: 'Numix',
    style: 'numix',
    licence: 'GPL-3.0-or-later',
    credit: 'Numix Project',
  },
  {
    pkg: 'elementary-icon-theme',
    folder: 'elementary',
    style: 'elementary',
    licence: 'GPL-3.0-or-later',
    credit: 'elementary, Inc.',
  },
  {
    pkg: 'oxygen-icon-theme',
    folder: 'oxygen',
    style: 'oxygen',
    licence: 'LGPL-3.0-or-later',
    credit: 'Oxygen Team (KDE)',
  },
  {
    pkg: 'tango-icon-theme',
    folder: 'Tango',
    style: 'tango',
    licence: 'public-domain',
    credit: 'Tango Desktop Project',
  },
  {
    pkg: 'faba-icon-theme',
    folder: 'Faba',
    style: 'faba',
    licence: 'GPL-3.0 OR CC-BY-SA-4.0',
    credit: 'Sam Hewitt (Moka Project)',
  },
  {
    pkg: 'mate-icon-theme',
    folder: 'mate',
    style: 'mate',
    licence: 'LGPL-3.0-or-later OR CC-BY-SA-3.0',
    credit: 'MATE Desktop Environment',
  },
  {
    pkg: 'gnome-icon-theme',
    folder: 'gnome',
    style: 'gnome',
    licence: 'GPL-2.0-or-later',
    credit: 'GNOME Project',
  },
  {
    pkg: 'suru-icon-theme',
    folder: 'suru',
    style: 'suru',
    licence: 'CC-BY-SA-3.0 AND GPL-3.0',
    credit: 'Canonical',
  },
  {
    pkg: 'numix-icon-theme-circle',
    folder: 'Numix-Circle',
    style: 'numix-circle',
    licence: 'GPL-3.0-or-later',
    credit: 'Numix Project',
  },
  {
    pkg: 'moka-icon-theme',
    folder: 'Moka',
    style: 'moka',
    licence: 'CC-BY-SA-4.0 OR GPL-3.0-or-later',
    credit: 'Sam Hewitt (Moka Project)',
  },
  {
    pkg: 'paper-icon-theme',
    folder: 'Paper',
    style: 'paper',
    licence: 'CC-BY-SA-3.0',
    credit: 'Sam Hewitt (Snwh)',
  },
  {
    pkg: 'yaru-theme-icon',
    folder: 'Yaru',
    style: 'yaru',
    licence: 'CC-BY-SA-4.0 AND GPL-3.0-or-later',
    credit: 'Ubuntu Yaru team',
  },
  {
    pkg: 'lxde-icon-theme',
    folder: 'nuoveXT2',
    style: 'nuovext2',
    licence: 'LGPL-3.0-or-later',
    credit: 'nuoveXT 2 by Alessandro Rei (LXDE)',
  },
];

/** Freedesktop icon contexts, kept as the icon's category. */
const CONTEXTS = new Set(
  'actions apps categories devices emblems emotes intl mimetypes places status stock'.split(' '),
);

/** The icon family's image budget (docs/DATA.md: 5-15k images per family). */
const MAX_IMAGES = 12000;

/** Size of the folder an icon file sits in: 'scalable' beats any raster. null for symbolic. */
export function iconPathSize(rel: string): number | null {
  let size = 0;
  for (const part of rel.split('/').slice(0, -1)) {
    if (part === 'symbolic' || part === 'animations') return null;
    if (part === 'scalable') size = Math.max(size, 4096);
    const m = /^(\d+)(?:x\d+)?(?:@(\d+)x?)?$/.exec(part);
    if (m) size = Math.max(size, Number(m[1]) * Number(m[2] ?? 1));
  }
  return size;
}

/** Per icon name, the best file of a theme: largest size, SVG before PNG at equal size. */
export function bestIconFiles(files: readonly string[]): Map<string, string> {
  const best = new Map<string, { file: string; score: number }>();
  for (const f of files) {
    const m = /([^/]+)\.(svg|png)$/.exec(f);
    if (!m) continue;
    const name = m[1] as string;
    if (name.endsWith('-symbolic')) continue;
    const size = iconPathSize(f);
    if (size === null) continue;
    const score = size * 2 + (m[2] === 'svg' ? 1 : 0);
    const had = best.get(name);
    if (!had || score > had.score) best.set(name, { file: f, score });
  }
  return new Map([...best].map(([n, b]) => [n, b.file]));
}

export const ICON_THEMES_SOURCE: CorpusSource = {
  name: 'icon-themes',
  group: 'drawn',
  async fetch(dir, log) {
    const work = join(dir, '.work');
    const packages: string[] = [];
    const found: (CorpusEntry & { readonly from: string })[] = [];
    for (const t of THEMES) {
      log(`  debian:${t.pkg}`);
      const dest = join(work, t.pkg);
      packages.push(`debian:${t.pkg}=${unpackDebian(t.pkg, dest)}`);
      const root = join(dest, 'usr/share/icons', t.folder);
      for (const [name, rel] of bestIconFiles(walkFiles(root))) {
        const ext = rel.slice(rel.lastIndexOf('.'));
        found.push({
          file: `${t.style}/${name}${ext}`,
          from: join(root, rel),
          source: 'icon-themes',
          kind: 'icon',
          style: t.style,
          key: `icon:${normaliseIconName(name)}`,
          category: rel.split('/').find((p) => CONTEXTS.has(p)) ?? null,
          licence: t.licence,
        });
      }
    }
    // Budget a little over the cap: some SVGs will not render.
    const chosen = capByKeys(keepShared(found), Math.round(MAX_IMAGES * 1.05));
    const ok = await keepRenderable(chosen, (e) => e.from);
    log(`  ${chosen.length - ok.length} of ${chosen.length} chosen files did not render`);
    const entries = capByKeys(keepShared(ok), MAX_IMAGES).map(({ from, ...e }) => {
      mkdirSync(dirname(join(dir, e.file)), { recursive: true });
      copyFileSync(from, join(dir, e.file));
      return e;
    });
    rmSync(work, { recursive: true, force: true });
    log(`  ${sharedKeyCount(entries)} icon names drawn by 3+ themes`);
    return {
      info: {
        packages,
        licence: [...new Set(THEMES.map((t) => t.licence))].join(' AND '),
        credit: THEMES.map((t) => `${t.folder}: ${t.credit}`).join('; '),
      },
      entries,
    };
  },
};
