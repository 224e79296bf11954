/** A fetchable corpus source: one package (or a few) turned into image files and a manifest. */
import type { CorpusEntry, SourceInfo } from './manifest.js';

export interface CorpusSource {
  /** Folder name under corpus/ and the name `matsearch data --corpus NAME` takes. */
  readonly name: string;
  /** Which part of the corpus it belongs to (`--corpus photos` fetches a whole group). */
  readonly group: 'photos' | 'textures' | 'drawn' | 'procedural';
  /**
   * Downloads and extracts into `dir` (an empty folder), returning the manifest entries (paths
   * relative to `dir`) and the attribution. Large downloads are deleted once extracted.
   */
  fetch(
    dir: string,
    log: (msg: string) => void,
  ): Promise<{ info: Omit<SourceInfo, 'images' | 'fetched' | 'source'>; entries: CorpusEntry[] }>;
}
