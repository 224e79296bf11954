/**
 * A labelled image folder, the layout users already have: `root/<label>/**\/*.jpg`. Every
 * readable image is rasterised once (EXIF-rotated, centre-cropped to a square, RGB on white) into
 * a cache keyed by the folder's path; the cache is rebuilt when any file is added, removed or
 * changed. Images that fail to decode are skipped and reported, never fatal.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from '../util/sharp.js';
import { walk } from '../../ingest/walk.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { subset, type ImageSet } from './image-set.js';
import { dataDir } from './paths.js';
import { readRasterCache, writeRasterCache } from './raster-cache.js';

export const FOLDER_CACHE_SIZE = 64;

interface FolderHeader {
  root: string;
  size: number;
  fingerprint: string;
  classes: string[];
  labels: number[];
  files: string[];
  skipped: { path: string; error: string }[];
}

export interface FolderCacheInfo {
  readonly path: string;
  readonly images: number;
  readonly classes: number;
  readonly skipped: readonly { path: string; error: string }[];
  /** False when an up-to-date cache was reused. */
  readonly built: boolean;
}

/** Where the raster cache of `root` lives (one per folder and size). */
export function folderCachePath(root: string, size = FOLDER_CACHE_SIZE, cacheRoot = dataDir()) {
  const key = createHash('sha256').update(resolve(root)).digest('hex').slice(0, 16);
  return join(cacheRoot, 'folders', `${key}-${size}.bin`);
}

/** The labelled files under `root`: one class per sub-folder, sorted, hidden files skipped. */
function scan(root: string): { classes: string[]; files: { path: string; label: number }[] } {
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new NotFoundError(`image folder not found: ${root}`);
  const classes = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  const files = classes.flatMap((name, label) =>
    [...walk([join(root, name)])].map((f) => ({ path: f.path, label })),
  );
  if (classes.length < 2 || files.length === 0)
    throw new ValidationError(
      `${root} needs one sub-folder per class with images inside (root/<label>/*.jpg); ` +
        `found ${classes.length} sub-folder(s) and ${files.length} image(s)`,
    );
  return { classes, files };
}

function fingerprint(files: readonly { path: string }[], size: number): string {
  const h = createHash('sha256').update(`v1 ${size}\n`);
  for (const f of files) {
    const st = statSync(f.path);
    h.update(`${f.path}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest('hex');
}

/** Rasterises `root` into its cache unless an up-to-date one exists. */
export async function buildFolderCache(
  root: string,
  o: { size?: number; cacheRoot?: string; log?: (msg: string) => void } = {},
): Promise<FolderCacheInfo> {
  const size = o.size ?? FOLDER_CACHE_SIZE;
  const path = folderCachePath(root, size, o.cacheRoot);
  const { classes, files } = scan(root);
  const print = fingerprint(files, size);
  if (existsSync(path)) {
    const { header } = readRasterCache<FolderHeader>(path);
    if (header.fingerprint === print)
      return {
        path,
        images: header.labels.length,
        classes: classes.length,
        skipped: header.skipped,
        built: false,
      };
  }
  const per = size * size * 3;
  const pixels = new Uint8Array(files.length * per);
  const kept: { path: string; label: number }[] = [];
  const skipped: { path: string; error: string }[] = [];
  for (const f of files) {
    try {
      const raw = await sharp(f.path, { limitInputPixels: 100_000_000, failOn: 'error' })
        .rotate()
        .resize(size, size, { fit: 'cover' })
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .toBuffer();
      if (raw.length !== per) throw new Error(`decoded to ${raw.length} bytes, expected ${per}`);
      pixels.set(raw, kept.length * per);
      kept.push(f);
    } catch (err) {
      skipped.push({ path: f.path, error: (err as Error).message.split('\n')[0]! });
    }
    const done = kept.length + skipped.length;
    if (done % 500 === 0) o.log?.(`rasterising ${done}/${files.length}`);
  }
  if (kept.length === 0) throw new ValidationError(`no readable image in ${root}`);
  mkdirSync(join(path, '..'), { recursive: true });
  const header: FolderHeader = {
    root: resolve(root),
    size,
    fingerprint: print,
    classes,
    labels: kept.map((f) => f.label),
    files: kept.map((f) => f.path),
    skipped,
  };
  writeRasterCache(path, header, pixels.subarray(0, kept.length * per));
  return { path, images: kept.length, classes: classes.length, skipped, built: true };
}

/** The whole folder from its cache: label = class (sub-folder) index. */
export function loadFolder(cachePath: string): ImageSet {
  if (!existsSync(cachePath))
    throw new NotFoundError(`no raster cache at ${cachePath}: run the training command again`);
  const { header: h, pixels } = readRasterCache<FolderHeader>(cachePath);
  return {
    name: 'folder',
    size: h.size,
    channels: 3,
    pixels,
    labels: Int32Array.from(h.labels),
    classes: h.classes,
  };
}

/**
 * Seeded split stratified by class: `trainFraction` of each class's images train, the rest test
 * (a class with one image goes to training). Labels keep their meaning in both parts.
 */
export function splitByClass(
  all: ImageSet,
  trainFraction = 0.8,
  seed = 0,
): { train: ImageSet; test: ImageSet } {
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (let c = 0; c < all.classes.length; c++) {
    const idx = rng.shuffle([...all.labels.keys()].filter((i) => all.labels[i] === c));
    const nTrain =
      idx.length <= 1
        ? idx.length
        : Math.min(idx.length - 1, Math.round(idx.length * trainFraction));
    train.push(...idx.slice(0, nTrain));
    test.push(...idx.slice(nTrain));
  }
  const byIndex = (a: number, b: number) => a - b;
  return {
    train: subset(all, train.sort(byIndex), `${all.name}-train`),
    test: subset(all, test.sort(byIndex), `${all.name}-test`),
  };
}
