/**
 * Photo-derived textures from game and simulator packages (see docs/DATA.md). There are far
 * more than a retrieval model needs, so each source keeps at most TEXTURE_LIMIT, drawn in a
 * seeded order spread across folders, re-encoded small (collect.ts); the packages are deleted.
 * Normal, gloss, specular, height and similar maps are not pictures and are left out by name.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encodeTextures, spreadOrder, walkFiles, type Candidate } from './collect.js';
import { debianSource, type PackageTree } from './debian-source.js';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';

export const TEXTURE_LIMIT = 2000;
const TEXTURE = /\.(png|jpe?g|tga|dds)$/i;

/** Suffixes and folders that mark a material map rather than a picture. */
const MAP_SUFFIX =
  /[_-](n|nm|nrm|norm|normal|normals|normalmap|local|bump|bmp|height|hm|disp|gloss|g|gm|s|sm|spec|specular|ao|occ|glow|luma|mask|rough|roughness|metal|metallic|lm|lightmap|reflect|shirt|pants|emissive|alpha)$/i;
const MAP_FOLDER = /(^|\/)(normals?|spec|specular|ao|bump|gloss|masks?|alphamaps?|lightmaps?)\//i;

export function isMaterialMap(path: string): boolean {
  const stem = (path.split('/').pop() ?? '').replace(/(\.[a-z0-9]+)+$/i, '');
  return MAP_SUFFIX.test(stem) || MAP_FOLDER.test(path);
}

/** Where a source's textures live: a folder of an unpacked package, or a zip (.pk3) in one. */
export type TextureRoot =
  { readonly kind: 'dir'; readonly path: string } | { readonly kind: 'zip'; readonly path: string };

interface Found {
  readonly rel: string;
  readonly root: TextureRoot;
}

function listZip(zip: string): string[] {
  const out = execFileSync('unzip', ['-Z1', zip], { maxBuffer: 1 << 28 }).toString('utf8');
  return out.split('\n').filter((l) => l !== '' && !l.endsWith('/'));
}

/** unzip takes member names as wildcards; escape the wildcard characters. */
const literal = (name: string) => name.replace(/([[\]*?\\])/g, '\\$1');

function extractZip(zip: string, names: readonly string[], dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (let i = 0; i < names.length; i += 200)
    execFileSync('unzip', ['-q', '-o', zip, ...names.slice(i, i + 200).map(literal), '-d', dest], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
}

export interface TextureSpec {
  readonly name: string;
  readonly packages: readonly string[];
  readonly licence: string;
  readonly credit: string;
  readonly roots: (trees: readonly PackageTree[]) => TextureRoot[];
  /** Paths (inside a root) to take; all textures when absent. */
  readonly include?: RegExp;
  readonly exclude?: RegExp;
  /** Destination name for a path (default: the path itself). */
  readonly rename?: (rel: string) => string;
  /**
   * The draw spreads across folders cut to this many path segments (default: whole parent
   * folders), so a tree with a folder per unit does not outweigh a flat folder of terrain.
   */
  readonly groupDepth?: number;
}

/** The folder a texture counts under for the spread draw: its parent, cut to `depth` segments. */
export function drawGroup(rel: string, depth = Infinity): string {
  return rel.split('/').slice(0, -1).slice(0, depth).join('/');
}

async function buildTextures(
  spec: TextureSpec,
  trees: readonly PackageTree[],
  dir: string,
  log: (m: string) => void,
): Promise<CorpusEntry[]> {
  // Later roots override earlier ones with the same path (game patches replace textures).
  const byRel = new Map<string, Found>();
  for (const root of spec.roots(trees)) {
    const names = root.kind === 'zip' ? listZip(root.path) : walkFiles(root.path);
    for (const rel of names) {
      if (!TEXTURE.test(rel) || isMaterialMap(rel)) continue;
      if (spec.include && !spec.include.test(rel)) continue;
      if (spec.exclude?.test(rel)) continue;
      byRel.set(rel, { rel, root });
    }
  }
  const seed = [...spec.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  const order = spreadOrder([...byRel.values()], (f) => drawGroup(f.rel, spec.groupDepth), seed);
  log(`corpus: ${spec.name}: ${order.length} candidate textures`);
  const entries: CorpusEntry[] = [];
  const scratch = join(dir, '.zip-chunk');
  const CHUNK = 600;
  for (let i = 0; i < order.length && entries.length < TEXTURE_LIMIT; i += CHUNK) {
    const chunk = order.slice(i, i + CHUNK);
    for (const [zip, names] of groupZip(chunk)) extractZip(zip, names, scratch);
    const candidates: Candidate[] = chunk.map((f) => ({
      out: (spec.rename ?? ((r: string) => r))(f.rel),
      name: f.rel,
      read: () => readFileSync(join(f.root.kind === 'zip' ? scratch : f.root.path, f.rel)),
      category: null,
      key: null,
      licence: spec.licence,
    }));
    const meta = { source: spec.name, kind: 'texture' as const, style: spec.name };
    entries.push(
      ...(await encodeTextures(candidates, dir, meta, TEXTURE_LIMIT - entries.length, log, {
        normalMaps: true,
      })),
    );
    rmSync(scratch, { recursive: true, force: true });
  }
  return entries;
}

function groupZip(found: readonly Found[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of found)
    if (f.root.kind === 'zip') m.set(f.root.path, [...(m.get(f.root.path) ?? []), f.rel]);
  return m;
}

export function textureSource(spec: TextureSpec): CorpusSource {
  return debianSource({
    name: spec.name,
    group: 'textures',
    packages: spec.packages,
    licence: spec.licence,
    credit: spec.credit,
    build: (trees, dir, log) => buildTextures(spec, trees, dir, log),
  });
}

const dirOf =
  (...parts: string[]) =>
  (trees: readonly PackageTree[]): TextureRoot[] =>
    trees.map((t) => ({ kind: 'dir' as const, path: join(t.root, ...parts) }));
const zipOf =
  (...parts: string[]) =>
  (trees: readonly PackageTree[]): TextureRoot[] =>
    trees.map((t) => ({ kind: 'zip' as const, path: join(t.root, ...parts) }));

export const TEXTURE_SOURCES: readonly CorpusSource[] = [
  textureSource({
    name: 'flightgear-data-base',
    packages: ['flightgear-data-base'],
    licence: 'GPL-2.0-or-later',
    credit: 'FlightGear contributors',
    roots: dirOf('usr/share/games/flightgear'),
    exclude: /^(gui|Docs|Nasal|Aircraft\/Instruments-3d|Textures\/(Symbols|Globe))\//,
  }),
  textureSource({
    name: '0ad-data',
    packages: ['0ad-data'],
    licence: 'CC-BY-SA-3.0',
    credit: 'Wildfire Games (0 A.D.)',
    roots: zipOf('usr/share/games/0ad/mods/public/public.zip'),
    // Unit body skins (skins/skeletal) are atlases of cloth and skin, not pictures.
    include:
      /^art\/textures\/(terrain\/types|skins\/(gaia|props|structural)|skies|ui\/session\/portraits)\//,
    groupDepth: 4,
    rename: (rel) => rel.replace(/^art\/textures\//, '').replace(/\.cached\.dds$/, ''),
  }),
  textureSource({
    name: 'ufoai-textures',
    packages: ['ufoai-textures'],
    licence: 'GPL-2.0-or-later',
    credit: 'UFO: Alien Invasion team',
    roots: zipOf('usr/share/games/ufoai/base/0textures.pk3'),
  }),
  textureSource({
    name: 'redeclipse-data',
    packages: ['redeclipse-data'],
    licence: 'CC-BY-SA-3.0',
    credit: 'Red Eclipse team and texture authors (per-folder readme files)',
    roots: dirOf('usr/share/games/redeclipse/data'),
    exclude: /^(crosshairs|particles|projectiles|caustics|textures|maps)\//,
  }),
  textureSource({
    name: 'nexuiz-textures',
    packages: ['nexuiz-textures'],
    licence: 'GPL-2.0-or-later',
    credit: 'Nexuiz / Alientrap texture artists',
    roots: zipOf('usr/share/games/nexuiz/data/textures.pk3'),
  }),
  textureSource({
    name: 'supertuxkart-data',
    packages: ['supertuxkart-data'],
    licence: 'CC-BY-SA-3.0',
    credit: 'SuperTuxKart team and artists (CC-BY-SA, CC-BY, CC0 per file)',
    roots: dirOf('usr/share/games/supertuxkart/data'),
    include: /^(tracks|textures|karts|library|models)\//,
  }),
  textureSource({
    name: 'openarena',
    packages: ['openarena-081-textures', 'openarena-085-data', 'openarena-088-data'],
    licence: 'GPL-2.0-or-later',
    credit: 'OpenArena team',
    roots: (trees) =>
      trees.flatMap((t) =>
        walkFiles(join(t.root, 'usr/share/games/openarena/baseoa'))
          .filter((f) => f.endsWith('.pk3'))
          .map((f) => ({
            kind: 'zip' as const,
            path: join(t.root, 'usr/share/games/openarena/baseoa', f),
          })),
      ),
    include: /^textures\//,
  }),
];
