/**
 * Which file on disk an image's original may be served from. A library path is served only if
 * its real location (every symlink resolved) lies inside the real location of an allowed root:
 * a path with `..` segments, a relative path, or a link that leads out of the roots is refused
 * (403), and an image whose files are all gone is a 404.
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { NotFoundError } from '../src/errors.js';
import { ApiError } from './errors.js';

/** The real path of `p`, or undefined when it does not exist. */
function real(p: string): string | undefined {
  try {
    return realpathSync.native(p); // one realpath(3) call, not an lstat per component
  } catch {
    return undefined;
  }
}

/** True when `child` is `parent` or lies below it (both real, absolute paths). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** A path the server will not even resolve: relative, or with a `..` segment. */
function suspicious(p: string): boolean {
  return !isAbsolute(p) || p.split(/[\\/]/).includes('..') || p.includes('\0');
}

/**
 * Whether anything of an image (its thumbnail, metadata, paths) may be shown, by the same rule
 * as its original: one of its `paths` lies inside a root once every link is resolved, or lay
 * there when ingested and is gone now. An image whose existing files all lead out of the roots
 * (a link inside a root to a file outside) is hidden: its thumbnail would show that file.
 */
export function shownImage(paths: readonly string[], roots: readonly string[]): boolean {
  return new ShownImages(roots).shows(paths);
}

/** `shownImage` for many images against the same roots, resolved once (a search's results). */
export class ShownImages {
  private readonly real: string[];
  private readonly given: string[];

  constructor(roots: readonly string[]) {
    this.real = roots.map(real).filter((r): r is string => r !== undefined);
    this.given = roots.map((r) => resolve(r));
  }

  shows(paths: readonly string[]): boolean {
    return paths.some((p) => {
      if (suspicious(p)) return false;
      const r = real(p);
      return r === undefined
        ? this.given.some((root) => isInside(root, p)) ||
            this.real.some((root) => isInside(root, p))
        : this.real.some((root) => isInside(root, r));
    });
  }
}

/**
 * The real path to serve for an image with these library `paths`, given the allowed `roots`.
 * Throws NotFoundError when no path exists any more, ApiError E_FORBIDDEN when the files that
 * exist are all outside the roots.
 */
export function servableFile(
  imageId: number,
  paths: readonly string[],
  roots: readonly string[],
): string {
  const realRoots = roots.map(real).filter((r): r is string => r !== undefined);
  let existing = 0;
  for (const p of paths) {
    if (suspicious(p)) {
      existing++;
      continue;
    }
    const r = real(p);
    if (r === undefined) continue;
    existing++;
    if (!realRoots.some((root) => isInside(root, r))) continue;
    try {
      if (statSync(r).isFile()) return r;
    } catch {
      // vanished between the two calls: try the next path
    }
  }
  if (existing === 0)
    throw new NotFoundError(
      `the original file of image ${imageId} is no longer on disk; run an ingest with prune to drop it`,
    );
  throw new ApiError(
    'E_FORBIDDEN',
    `the original file of image ${imageId} is outside the library roots; only files under the served roots are sent`,
  );
}
