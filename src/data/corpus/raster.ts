/**
 * Rasterises each fetched corpus source once into `<data>/corpus/<source>/raster-<S>.bin` (the
 * raster-cache format): every manifest entry decoded the way the product decodes (src/runtime/
 * preprocess.ts: EXIF-rotated, flattened on white, short side to S, centre square), except that
 * SVGs are rendered at a density that gives at least 2S pixels, so small view boxes stay sharp.
 * Entries that fail to decode are skipped and counted. A source is rebuilt when its manifest is
 * newer than its raster.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from '../../util/sharp.js';
import { loadPixels } from '../../runtime/preprocess.js';
import { dataDir } from '../paths.js';
import { readRasterCache, writeRasterCache } from '../raster-cache.js';
import { readManifest, sourceDir, sourceDone, type CorpusEntry } from './manifest.js';

/** Side of the stored rasters: larger than the 64 px model input, so crops keep detail. */
export const CORPUS_RASTER_SIZE = 96;

export interface RasterHeader {
  readonly size: number;
  /** Manifest row of each stored image, in order. */
  readonly rows: number[];
  readonly skipped: number;
}

export function rasterPath(source: string, size = CORPUS_RASTER_SIZE, root = dataDir()): string {
  return join(sourceDir(source, root), `raster-${size}.bin`);
}

/** An SVG's pixels at a density that makes its short side at least `min` px (as PNG bytes). */
async function renderSvg(path: string, min: number): Promise<Buffer> {
  const svg = readFileSync(path);
  const m = await sharp(svg).metadata();
  const short = Math.max(1, Math.min(m.width ?? min, m.height ?? min));
  const density = Math.min(2400, Math.max(72, Math.ceil((72 * min) / short)));
  return sharp(svg, { density }).png().toBuffer();
}

async function rasterOne(dir: string, e: CorpusEntry, S: number): Promise<Uint8Array> {
  const path = join(dir, e.file);
  const input = e.file.toLowerCase().endsWith('.svg') ? await renderSvg(path, 2 * S) : path;
  return loadPixels(input, { size: S, channels: 3 });
}

/** Builds the raster of `source` unless an up-to-date one exists. Returns its image count. */
export async function rasterSource(
  source: string,
  o: { size?: number; root?: string; log?: (s: string) => void; concurrency?: number } = {},
): Promise<{ images: number; skipped: number; built: boolean }> {
  const S = o.size ?? CORPUS_RASTER_SIZE;
  const root = o.root ?? dataDir();
  const out = rasterPath(source, S, root);
  const manifestPath = join(sourceDir(source, root), 'manifest.jsonl');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(manifestPath).mtimeMs) {
    const h = readRasterCache<RasterHeader>(out).header;
    return { images: h.rows.length, skipped: h.skipped, built: false };
  }
  const entries = readManifest(source, root);
  const dir = sourceDir(source, root);
  const per = S * S * 3;
  const results: (Uint8Array | null)[] = new Array<Uint8Array | null>(entries.length).fill(null);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      try {
        results[i] = await rasterOne(dir, entries[i]!, S);
      } catch {
        results[i] = null;
      }
      if (++done % 500 === 0) o.log?.(`  ${source}: ${done}/${entries.length}`);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  const rows = results.flatMap((r, i) => (r ? [i] : []));
  const pixels = new Uint8Array(rows.length * per);
  rows.forEach((row, k) => pixels.set(results[row]!, k * per));
  const header: RasterHeader = { size: S, rows, skipped: entries.length - rows.length };
  writeRasterCache(out, header, pixels);
  return { images: rows.length, skipped: header.skipped, built: true };
}

/** Rasterises every complete source under `<root>/corpus`. */
export async function rasterCorpus(
  sources: readonly string[],
  o: { size?: number; root?: string; log?: (s: string) => void } = {},
): Promise<void> {
  for (const s of sources) {
    if (!sourceDone(s, o.root)) continue;
    const r = await rasterSource(s, o);
    o.log?.(
      `corpus raster ${s}: ${r.images} images${r.skipped ? `, ${r.skipped} undecodable skipped` : ''}${r.built ? '' : ' (cached)'}`,
    );
  }
}
