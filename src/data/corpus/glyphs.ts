/**
 * Letters and digits (A-Z, 0-9) in many typefaces, keyed 'glyph:<char>'; style = font family.
 * One upright regular face per family, rendered by sharp (Pango) as black on white PNG. A family
 * whose 'A' and 'g' come out exactly as an unknown family's do fell back to a default font and
 * is left out.
 */
import { readFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from '../../util/sharp.js';
import { walkFiles } from './files.js';
import { fontName, type FontName } from './font-name.js';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';
import { unpackDebian } from '../fetch.js';

/** Debian font packages and their licences (from each package's copyright file). */
const FONT_PACKAGES: readonly { pkg: string; licence: string }[] = [
  { pkg: 'fonts-texgyre', licence: 'GFL' },
  { pkg: 'fonts-cmu', licence: 'OFL-1.1' },
  { pkg: 'fonts-urw-base35', licence: 'AGPL-3.0-only WITH font exception' },
  { pkg: 'fonts-dejavu-core', licence: 'Bitstream-Vera' },
  { pkg: 'fonts-liberation2', licence: 'OFL-1.1' },
  { pkg: 'fonts-freefont-ttf', licence: 'GPL-3.0-or-later WITH Font-exception-2.0' },
  { pkg: 'fonts-linuxlibertine', licence: 'OFL-1.1 OR GPL-2.0-or-later' },
  { pkg: 'fonts-comic-neue', licence: 'OFL-1.1' },
  { pkg: 'fonts-lato', licence: 'OFL-1.1' },
  { pkg: 'fonts-open-sans', licence: 'Apache-2.0' },
  { pkg: 'fonts-ebgaramond', licence: 'OFL-1.1' },
  { pkg: 'fonts-cantarell', licence: 'OFL-1.1' },
  { pkg: 'fonts-junicode', licence: 'OFL-1.1' },
  { pkg: 'fonts-inconsolata', licence: 'OFL-1.1' },
  { pkg: 'fonts-crosextra-carlito', licence: 'OFL-1.1' },
  { pkg: 'fonts-crosextra-caladea', licence: 'Apache-2.0' },
  { pkg: 'fonts-roboto-unhinted', licence: 'Apache-2.0' },
  { pkg: 'fonts-league-spartan', licence: 'OFL-1.1' },
  { pkg: 'fonts-firacode', licence: 'OFL-1.1' },
  { pkg: 'fonts-hack', licence: 'MIT AND Bitstream-Vera' },
  { pkg: 'fonts-lobster', licence: 'OFL-1.1' },
  { pkg: 'fonts-dancingscript', licence: 'OFL-1.1' },
  { pkg: 'fonts-croscore', licence: 'Apache-2.0' },
];

export const GLYPH_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];

const UPRIGHT = /^(regular|book|roman|normal|plain)$/i;
/** Symbol and dingbat faces map A-Z to pictures; keyboard faces draw keycaps. */
const NOT_LETTERS = /symbol|dingbat|d050000l|keyboard/i;

/** One upright regular face per family (the first in path order): family -> file and name. */
export function regularFaces(
  fonts: readonly { file: string; family: string; subfamily: string; legacyFamily: string }[],
): Map<string, { file: string; legacyFamily: string }> {
  const out = new Map<string, { file: string; legacyFamily: string }>();
  for (const f of [...fonts].sort((a, b) => (a.file < b.file ? -1 : 1)))
    if (UPRIGHT.test(f.subfamily) && !NOT_LETTERS.test(f.family) && !out.has(f.family))
      out.set(f.family, { file: f.file, legacyFamily: f.legacyFamily });
  return out;
}

/** Black glyph on white, about 200 px tall, as PNG. */
async function renderGlyph(ch: string, family: string, fontfile?: string): Promise<Buffer> {
  const text = sharp({
    text: { text: ch, font: `${family} 48`, dpi: 300, ...(fontfile ? { fontfile } : {}) },
  });
  return text.negate({ alpha: false }).greyscale().png().toBuffer();
}

export const GLYPHS_SOURCE: CorpusSource = {
  name: 'glyphs',
  group: 'drawn',
  async fetch(dir, log) {
    const work = join(dir, '.work');
    const packages: string[] = [];
    const faces: (FontName & { file: string; licence: string })[] = [];
    for (const p of FONT_PACKAGES) {
      const dest = join(work, p.pkg);
      packages.push(`debian:${p.pkg}=${unpackDebian(p.pkg, dest)}`);
      for (const f of walkFiles(dest).filter((n) => /\.(ttf|otf)$/i.test(n))) {
        const name = fontName(readFileSync(join(dest, f)));
        if (name) faces.push({ file: join(dest, f), ...name, licence: p.licence });
      }
    }
    const licenceOf = new Map(faces.map((f) => [f.file, f.licence]));
    const fallback = await Promise.all(['A', 'g'].map((c) => renderGlyph(c, 'Matsearch Nofont')));
    const entries: CorpusEntry[] = [];
    for (const [family, { file, legacyFamily }] of regularFaces(faces)) {
      const probe = await Promise.all(['A', 'g'].map((c) => renderGlyph(c, legacyFamily, file)));
      if (probe.every((b, i) => b.equals(fallback[i] as Buffer))) {
        log(`  ${family}: left out (rendered in a fallback font)`);
        continue;
      }
      const style = family.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      mkdirSync(join(dir, style), { recursive: true });
      for (const ch of GLYPH_CHARS) {
        const rel = `${style}/${ch}.png`;
        writeFileSync(join(dir, rel), await renderGlyph(ch, legacyFamily, file));
        entries.push({
          file: rel,
          source: 'glyphs',
          kind: 'glyph',
          style,
          key: `glyph:${ch}`,
          category: null,
          licence: licenceOf.get(file) ?? 'unknown',
        });
      }
    }
    rmSync(work, { recursive: true, force: true });
    log(`  ${entries.length / GLYPH_CHARS.length} typefaces`);
    return {
      info: {
        packages,
        licence: [...new Set(FONT_PACKAGES.map((p) => p.licence))].join(' AND '),
        credit: 'Font designers as credited in each Debian fonts-* package',
      },
      entries,
    };
  },
};
