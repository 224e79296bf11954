/** Where a library keeps an image's thumbnail (by content hash): shared by ingest and the Library. */
import { join } from 'node:path';

export function thumbnailPath(thumbsDir: string, hash: string): string {
  return join(thumbsDir, hash.slice(0, 2), `${hash}.webp`);
}
