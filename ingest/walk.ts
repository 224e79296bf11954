/**
 * Finds the image files under the given roots: recursive, sorted (so runs are reproducible),
 * skipping hidden entries and OS debris by default, honouring include/exclude globs, following
 * symlinks to files and folders but never around a loop (real paths already seen are skipped).
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';

export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.jpe',
  '.png',
  '.webp',
  '.avif',
  '.gif',
  '.tif',
  '.tiff',
  '.svg',
  '.bmp', // decoded by ingest/bmp.ts: libvips has no BMP loader
]);

/**
 * Image types left out of the walk (unless an include glob names them), with the reason: every
 * such file would fail to decode. sharp's prebuilt libvips reads HEIF only with the AV1 codec
 * (AVIF: sharp.format.heif.input.fileSuffix is ['.avif']); it has no HEVC decoder, and HEIC
 * photos are HEVC (test/ingest/skipped-types.test.ts checks sharp still lacks it).
 */
export const UNDECODABLE: ReadonlyMap<string, string> = new Map([
  ['.heic', 'HEIC (HEVC) images cannot be decoded: the bundled libvips has no HEVC decoder'],
  ['.heif', 'HEIF (HEVC) images cannot be decoded: the bundled libvips has no HEVC decoder'],
]);

const DEBRIS = new Set([
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  '$RECYCLE.BIN',
  'System Volume Information',
  '@eaDir',
]);

export interface WalkOptions {
  /** Globs a file's path relative to its root must match (any); default: every image extension. */
  readonly include?: readonly string[];
  /** Globs that exclude a file or folder (relative to its root). */
  readonly exclude?: readonly string[];
  /** Visit hidden files and folders (names starting with '.'). Default false. */
  readonly hidden?: boolean;
  /**
   * Folders never entered, by real path (a library skips its own folder: its thumbnails are
   * images too). Files given directly as roots are still taken.
   */
  readonly skip?: readonly string[];
}

export interface FoundFile {
  /** Absolute path as found (not resolved through links), the key in the library. */
  readonly path: string;
  readonly root: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** Converts a glob (`*`, `**`, `?`, `{a,b}`) to an anchored RegExp over '/'-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += glob[i + 2] === '/' ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      re += `(?:${glob
        .slice(i + 1, end)
        .split(',')
        .map(escape)
        .join('|')})`;
      i = end;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`, 'i');
}

function escape(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

function isDebris(name: string): boolean {
  return DEBRIS.has(name) || name.startsWith('._');
}

/** Yields files under `roots` in sorted order. Unreadable folders are reported, not fatal. */
export function* walk(
  roots: readonly string[],
  o: WalkOptions = {},
  onError?: (path: string, err: Error) => void,
  onSkip?: (path: string, reason: string) => void,
): Generator<FoundFile> {
  const include = (o.include ?? []).map(globToRegExp);
  const exclude = (o.exclude ?? []).map(globToRegExp);
  const skip = o.skip ?? [];
  for (const r of roots) {
    const root = resolve(r);
    const seen = new Set<string>();
    let st: Stats;
    try {
      st = statSync(root);
    } catch (err) {
      onError?.(root, err as Error);
      continue;
    }
    if (st.isFile()) {
      yield { path: root, root, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
      continue;
    }
    const f = { include, exclude, skip, hidden: o.hidden ?? false };
    yield* visit(root, root, seen, f, onError, onSkip);
  }
}

interface Filters {
  readonly include: RegExp[];
  readonly exclude: RegExp[];
  readonly skip: readonly string[];
  readonly hidden: boolean;
}

function* visit(
  dir: string,
  root: string,
  seen: Set<string>,
  f: Filters,
  onError?: (path: string, err: Error) => void,
  onSkip?: (path: string, reason: string) => void,
): Generator<FoundFile> {
  const { include, exclude, skip, hidden } = f;
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    onError?.(dir, err as Error);
    return;
  }
  if (seen.has(real)) return; // a symlink loop or a second link to a visited folder
  seen.add(real);
  if (skip.some((s) => real === s || real.startsWith(s + sep))) return;
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    onError?.(dir, err as Error);
    return;
  }
  for (const name of names) {
    if (!hidden && name.startsWith('.')) continue;
    if (isDebris(name)) continue;
    const path = join(dir, name);
    const rel = relative(root, path).split('\\').join('/');
    if (exclude.some((e) => e.test(rel) || e.test(basename(rel)))) continue;
    let st: Stats;
    try {
      st = lstatSync(path).isSymbolicLink() ? statSync(path) : lstatSync(path);
    } catch (err) {
      onError?.(path, err as Error); // a dangling link
      continue;
    }
    if (st.isDirectory()) {
      yield* visit(path, root, seen, f, onError, onSkip);
    } else if (st.isFile()) {
      const ext = extname(name).toLowerCase();
      const wanted =
        include.length > 0 ? include.some((g) => g.test(rel)) : IMAGE_EXTENSIONS.has(ext);
      if (wanted) yield { path, root, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
      else if (include.length === 0 && UNDECODABLE.has(ext)) onSkip?.(path, UNDECODABLE.get(ext)!);
    }
  }
}
