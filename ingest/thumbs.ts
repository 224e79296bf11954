/**
 * Where a library keeps an image's thumbnail (by content hash): shared by ingest, the Library
 * and the server. Thumbnails are JPEG; a library made before keeps its WebP ones, which are
 * still found, served and removed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The thumbnail spellings, the one ingest writes first. */
const FORMATS = [
  { ext: 'jpg', mime: 'image/jpeg' },
  { ext: 'webp', mime: 'image/webp' }, // written by earlier versions
] as const;

const pathOf = (thumbsDir: string, hash: string, ext: string) =>
  join(thumbsDir, hash.slice(0, 2), `${hash}.${ext}`);

/** Where ingest writes an image's thumbnail. */
export function thumbnailPath(thumbsDir: string, hash: string): string {
  return pathOf(thumbsDir, hash, FORMATS[0].ext);
}

/** Every file an image's thumbnail may be in (what a removal deletes). */
export function thumbnailPaths(thumbsDir: string, hash: string): string[] {
  return FORMATS.map((f) => pathOf(thumbsDir, hash, f.ext));
}

/**
 * An image's thumbnail file: the one on disk (JPEG, or an earlier version's WebP), else the path
 * ingest writes it to.
 */
export function findThumbnail(thumbsDir: string, hash: string): string {
  for (const f of FORMATS) {
    const path = pathOf(thumbsDir, hash, f.ext);
    if (existsSync(path)) return path;
  }
  return thumbnailPath(thumbsDir, hash);
}

/** The media type of a thumbnail file, by the spelling it was written with. */
export function thumbnailMime(path: string): string {
  return (FORMATS.find((f) => path.endsWith(`.${f.ext}`)) ?? FORMATS[0]).mime;
}
