/**
 * The general training corpus is assembled from many packages (see docs/DATA.md). Every source
 * is fetched into its own folder `<data>/corpus/<source>/` holding the extracted image files, a
 * `manifest.jsonl` (one `CorpusEntry` per line) and a `source.json` (`SourceInfo`). Writing
 * `source.json` last marks the source as complete, so an interrupted fetch is redone.
 *
 * The rasteriser (build.ts) reads only manifests, so fetchers and training never meet.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../paths.js';

/** What an image is; decides its augmentation and which evaluation task may use it. */
export type CorpusKind =
  | 'photo'
  | 'texture'
  | 'emoji'
  | 'icon'
  | 'logo'
  | 'flag'
  | 'card'
  | 'chess'
  | 'glyph'
  | 'clipart'
  | 'sprite'
  | 'drawing';

export interface CorpusEntry {
  /** Path relative to the source folder (`<data>/corpus/<source>/`). PNG, JPEG, WebP or SVG. */
  readonly file: string;
  /** The source folder name, e.g. 'gcompris-qt-data' or 'iconify-noto'. */
  readonly source: string;
  readonly kind: CorpusKind;
  /** The drawing style: emoji vendor, icon theme, flag set, card deck, font; for photos the package. */
  readonly style: string;
  /**
   * Cross-style identity shared by the same thing in other styles, namespaced by kind:
   * 'emoji:1f600', 'icon:document-save', 'flag:fr', 'card:hearts-q', 'chess:wn', 'glyph:A',
   * 'fotoxx:<photo>' (a photo before and after an edit). null when the image is unique.
   */
  readonly key: string | null;
  /** A label for category retrieval (GCompris subject folder, openclipart category...), or null. */
  readonly category: string | null;
  /** SPDX-style licence of this image (or of its package). */
  readonly licence: string;
}

export interface SourceInfo {
  /** Folder name under corpus/. */
  readonly source: string;
  /** Package(s) it came from, with versions: 'debian:gcompris-qt-data=3.1-1', 'npm:@iconify-json/noto@1.2.0'. */
  readonly packages: readonly string[];
  readonly licence: string;
  /** Who made it, for docs/DATA.md. */
  readonly credit: string;
  readonly images: number;
  /** When it was fetched (ISO date). */
  readonly fetched: string;
}

export function corpusDir(root = dataDir()): string {
  return join(root, 'corpus');
}

export function sourceDir(source: string, root = dataDir()): string {
  return join(corpusDir(root), source);
}

/** True when `source` finished fetching (its source.json exists). */
export function sourceDone(source: string, root = dataDir()): boolean {
  return existsSync(join(sourceDir(source, root), 'source.json'));
}

/** Writes the manifest, then source.json (the completion marker), each atomically. */
export function writeSource(
  info: Omit<SourceInfo, 'images' | 'fetched'>,
  entries: readonly CorpusEntry[],
  root = dataDir(),
): SourceInfo {
  const dir = sourceDir(info.source, root);
  mkdirSync(dir, { recursive: true });
  const atomic = (name: string, text: string) => {
    writeFileSync(join(dir, `${name}.tmp`), text);
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
  };
  atomic('manifest.jsonl', entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const full: SourceInfo = {
    ...info,
    images: entries.length,
    fetched: new Date().toISOString().slice(0, 10),
  };
  atomic('source.json', JSON.stringify(full, null, 1) + '\n');
  return full;
}

export function readManifest(source: string, root = dataDir()): CorpusEntry[] {
  const text = readFileSync(join(sourceDir(source, root), 'manifest.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CorpusEntry);
}

export function readSourceInfo(source: string, root = dataDir()): SourceInfo {
  return JSON.parse(
    readFileSync(join(sourceDir(source, root), 'source.json'), 'utf8'),
  ) as SourceInfo;
}
