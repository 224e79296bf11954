/** Real photographs and photo-derived textures (Debian packages). */
import type { CorpusSource } from './source.js';

export const PHOTO_SOURCES: readonly CorpusSource[] = [];
