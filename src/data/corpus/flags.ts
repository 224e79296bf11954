/**
 * Country flags in many styles, keyed by ISO 3166-1 alpha-2 code ('flag:fr'). Only two-letter
 * codes count (regional and non-ISO flags are left out) and only codes drawn by 3+ styles kept.
 * Iconify's 'flag' set is left out: it is the flag-icons artwork again.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { keepRenderable, walkFiles } from './files.js';
import { iconToSvg, loadIconifySet, resolveIcon, setLicence } from './iconify.js';
import { keepShared, sharedKeyCount } from './keys.js';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';
import { unpackDebian, unpackNpm } from '../fetch.js';

/** 'FR.svg', 'fr.png' -> 'fr'; null for anything not a two-letter code. */
export function flagCode(file: string): string | null {
  const m = /^([a-z]{2})\.(svg|png)$/i.exec(basename(file));
  return m ? (m[1] as string).toLowerCase() : null;
}

interface Found {
  readonly style: string;
  readonly code: string;
  /** A file to copy, or SVG text to write. */
  readonly from: { readonly path: string } | { readonly svg: string };
  readonly ext: string;
  readonly licence: string;
}

interface FlagStyle {
  readonly style: string;
  readonly licence: string;
  readonly credit: string;
  /** Unpacks into `dest`; returns the package spec and the flags found. */
  load(dest: string): { pkg: string; flags: Map<string, string> | Map<string, { svg: string }> };
}

/** An npm package whose flags are files in `folder`. */
function npmFolder(
  spec: string,
  folder: string,
  style: string,
  licence: string,
  credit: string,
): FlagStyle {
  return {
    style,
    licence,
    credit,
    load(dest) {
      const version = unpackNpm(spec, dest);
      return { pkg: `npm:${spec}@${version}`, flags: codesIn(join(dest, folder)) };
    },
  };
}

function debianFolder(
  name: string,
  folder: string,
  style: string,
  licence: string,
  credit: string,
): FlagStyle {
  return {
    style,
    licence,
    credit,
    load(dest) {
      const version = unpackDebian(name, dest);
      return { pkg: `debian:${name}=${version}`, flags: codesIn(join(dest, folder)) };
    },
  };
}

function iconifyFlags(set: string, credit: string): FlagStyle {
  return {
    style: `iconify-${set}`,
    licence: set === 'cif' ? 'CC0-1.0' : 'MIT',
    credit,
    load(dest) {
      const s = loadIconifySet(set, dest);
      const flags = new Map<string, { svg: string }>();
      for (const name of Object.keys(s.json.icons)) {
        const code = flagCode(`${name}.svg`);
        const icon = resolveIcon(s.json, name);
        if (code && icon) flags.set(code, { svg: iconToSvg(icon) });
      }
      return { pkg: `${s.pkg} (${setLicence(s)})`, flags };
    },
  };
}

function codesIn(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of walkFiles(folder)) {
    const code = flagCode(f);
    if (code && !f.includes('/')) out.set(code, join(folder, f));
  }
  return out;
}

const STYLES: readonly FlagStyle[] = [
  npmFolder(
    'flag-icons@7.5.0',
    'flags/4x3',
    'flag-icons-4x3',
    'MIT',
    'flag-icons by Panayiotis Lipiridis',
  ),
  npmFolder(
    'flag-icons@7.5.0',
    'flags/1x1',
    'flag-icons-1x1',
    'MIT',
    'flag-icons by Panayiotis Lipiridis',
  ),
  npmFolder(
    'country-flag-icons@1.6.20',
    '3x2',
    'country-flag-icons',
    'MIT',
    'country-flag-icons by catamphetamine',
  ),
  npmFolder(
    'svg-country-flags@1.2.10',
    'png250px',
    'svg-country-flags',
    'public-domain',
    'svg-country-flags by hjnilsson (Wikimedia Commons flags)',
  ),
  npmFolder('circle-flags@2.8.3', 'flags', 'circle-flags', 'MIT', 'circle-flags by HatScripts'),
  iconifyFlags('flagpack', 'Flagpack by Yummygum'),
  iconifyFlags('cif', 'CoreUI Flags by creativeLabs'),
  debianFolder(
    'iso-flags-png-320x240',
    'usr/share/iso-flags-png-320x240',
    'iso-flags-png',
    'public-domain',
    'iso-flags-png by Mathias Brodala (Wikimedia Commons flags)',
  ),
  debianFolder(
    'famfamfam-flag-png',
    'usr/share/flags/countries/16x11',
    'famfamfam',
    'public-domain',
    'famfamfam flag icons by Mark James',
  ),
];

export const FLAGS_SOURCE: CorpusSource = {
  name: 'flags',
  group: 'drawn',
  async fetch(dir, log) {
    const work = join(dir, '.work');
    const packages = new Set<string>();
    const found: (Found & { readonly key: string })[] = [];
    for (const s of STYLES) {
      log(`  ${s.style}`);
      const dest = join(work, s.style);
      const { pkg, flags } = s.load(dest);
      packages.add(pkg);
      for (const [code, v] of flags) {
        const from = typeof v === 'string' ? { path: v } : v;
        const ext = 'path' in from ? from.path.slice(from.path.lastIndexOf('.')) : '.svg';
        found.push({ style: s.style, code, from, ext, licence: s.licence, key: `flag:${code}` });
      }
    }
    const renderable = await keepRenderable(
      found.filter((f) => 'path' in f.from),
      (f) => ('path' in f.from ? f.from.path : ''),
    );
    const ok = new Set(renderable);
    const entries: CorpusEntry[] = keepShared(
      found.filter((f) => !('path' in f.from) || ok.has(f)),
    ).map((f) => {
      mkdirSync(join(dir, f.style), { recursive: true });
      const file = `${f.style}/${f.code}${f.ext}`;
      if ('path' in f.from) copyFileSync(f.from.path, join(dir, file));
      else writeFileSync(join(dir, file), f.from.svg);
      return {
        file,
        source: 'flags',
        kind: 'flag',
        style: f.style,
        key: f.key,
        category: null,
        licence: f.licence,
      };
    });
    rmSync(work, { recursive: true, force: true });
    log(`  ${sharedKeyCount(entries)} flags drawn in 3+ styles`);
    return {
      info: {
        packages: [...packages],
        licence: [...new Set(STYLES.map((s) => s.licence))].join(' AND '),
        credit: [...new Set(STYLES.map((s) => s.credit))].join('; '),
      },
      entries,
    };
  },
};
