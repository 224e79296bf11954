/**
 * What the trainer trains on: a data spec that every worker can load by itself, the model config
 * adapted to it, its augmentation, and the seeded sampler that fixes the data order (so a resumed
 * run sees exactly the batches an uninterrupted one would).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadEmoji, splitEmoji } from '../data/emoji.js';
import {
  buildFolderCache,
  FOLDER_CACHE_SIZE,
  folderCachePath,
  loadFolder,
  splitByClass,
} from '../data/folder.js';
import { loadFashionMnist } from '../data/fmnist.js';
import { loadCorpus } from '../data/corpus/load.js';
import { corpusDir, type CorpusEntry, type CorpusKind } from '../data/corpus/manifest.js';
import { rasterCorpus } from '../data/corpus/raster.js';
import type { ImageSet } from '../data/image-set.js';
import { ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import type { AugmentOptions } from './augment.js';

export type DataSpec =
  | { readonly kind: 'fmnist' }
  | { readonly kind: 'emoji'; readonly splitSeed: number }
  /**
   * The general corpus (src/data/corpus) but its held-out parts. `sources` freezes which
   * rasterised sources a run trains on (all of them when absent), so a resumed run sees the
   * same data even after more sources were fetched.
   */
  | { readonly kind: 'general'; readonly sources?: readonly string[] }
  /** A labelled folder (root/<label>/*.jpg), read from its raster cache. */
  | {
      readonly kind: 'folder';
      readonly root: string;
      readonly cache: string;
      readonly splitSeed: number;
    };

/** `fmnist`, `emoji`, or the path of a labelled image folder. */
export function parseDataSpec(s: string, dataRoot?: string): DataSpec {
  if (s === 'fmnist') return { kind: 'fmnist' };
  if (s === 'emoji') return { kind: 'emoji', splitSeed: 0 };
  if (s === 'general') return { kind: 'general' };
  if (existsSync(s) && statSync(s).isDirectory())
    return {
      kind: 'folder',
      root: resolve(s),
      cache: folderCachePath(s, FOLDER_CACHE_SIZE, dataRoot),
      splitSeed: 0,
    };
  throw new ValidationError(
    `unknown data set '${s}': use fmnist, emoji, general, or a folder with one sub-folder per class`,
  );
}

/** Work a data set needs before loading (rasterising a folder); a no-op for the others. */
export async function prepareData(spec: DataSpec, log?: (msg: string) => void): Promise<void> {
  if (spec.kind === 'general') {
    const dir = corpusDir();
    const sources = existsSync(dir) ? readdirSync(dir).sort() : [];
    await rasterCorpus(sources, log ? { log } : {});
    return;
  }
  if (spec.kind !== 'folder') return;
  const info = await buildFolderCache(spec.root, {
    cacheRoot: dirname(dirname(spec.cache)),
    ...(log ? { log } : {}),
  });
  log?.(
    `${spec.root}: ${info.images} images in ${info.classes} classes` +
      (info.skipped.length
        ? `, ${info.skipped.length} unreadable skipped (first: ${info.skipped[0]!.path}: ${info.skipped[0]!.error})`
        : '') +
      (info.built ? '' : ' (cached)'),
  );
}

export function loadSplit(spec: DataSpec, split: 'train' | 'test', root?: string): ImageSet {
  if (spec.kind === 'fmnist') return loadFashionMnist(split, root);
  // The general corpus's 'test' during training is its validation split: the held-out sets
  // are for `matsearch eval` alone.
  if (spec.kind === 'general')
    return loadCorpus(split === 'train' ? 'train' : 'val', {
      ...(root ? { root } : {}),
      ...(spec.sources ? { sources: spec.sources } : {}),
    });
  const parts =
    spec.kind === 'emoji'
      ? splitEmoji(loadEmoji(root), 0.8, spec.splitSeed)
      : splitByClass(loadFolder(spec.cache), 0.8, spec.splitSeed);
  return split === 'train' ? parts.train : parts.test;
}

/**
 * The input geometry a data set trains at unless `--patch` says otherwise. Both use a 4x4 patch
 * grid (17 tokens with CLS): Fashion-MNIST 7 px patches, a training step a third of the cost of
 * 4 px patches (49 tokens; measured 109 vs 36 images/s per thread); colour sets 64 px images in
 * 16 px patches, which keeps detail in the patch embedding at the same token cost. This keeps
 * training within a few CPU-hours.
 */
export function geometryFor(kind: string): {
  imageSize: number;
  patchSize: number;
  inChans: number;
} {
  return kind === 'fmnist'
    ? { imageSize: 28, patchSize: 7, inChans: 1 }
    : { imageSize: 64, patchSize: 16, inChans: 3 };
}

/** Model fields the data decides: the geometry and the number of classes (none: no head). */
export function configFor(spec: DataSpec, train: ImageSet | null) {
  return {
    ...geometryFor(spec.kind),
    nClasses: spec.kind === 'general' || !train ? 0 : train.classes.length,
  };
}

/**
 * The general model's views: crops down to a quarter of the area, flips, quarter turns and the
 * distortions of distort.ts, at rates that leave about a third of views undistorted.
 */
export const GENERAL_AUGMENT = {
  scale: [0.25, 1] as const,
  ratio: [0.75, 1.333] as const,
  flip: true,
  rot90: true,
  jitter: 0.4,
  distort: {
    overlay: 0.25,
    text: 0.2,
    border: 0.15,
    grey: 0.2,
    blur: 0.2,
    downscale: 0.15,
    jpeg: 0.25,
  },
};

export function augmentFor(
  spec: DataSpec,
  imageSize: number,
  channels: number,
  greyRate?: number,
): AugmentOptions {
  if (greyRate !== undefined && spec.kind !== 'general')
    throw new ValidationError(
      "--grey is a rate of the general model's distortions: use it with --data general",
    );
  if (greyRate !== undefined && !(greyRate >= 0 && greyRate <= 1))
    throw new ValidationError(`--grey must be a rate from 0 to 1, got ${greyRate}`);
  if (spec.kind === 'general')
    return {
      size: imageSize,
      channels,
      ...GENERAL_AUGMENT,
      distort: { ...GENERAL_AUGMENT.distort, grey: greyRate ?? GENERAL_AUGMENT.distort.grey },
    };
  if (spec.kind === 'folder')
    return {
      size: imageSize,
      channels,
      scale: [0.5, 1],
      ratio: [0.75, 1.333],
      flip: true,
      jitter: 0.3,
    };
  return spec.kind === 'fmnist'
    ? { size: imageSize, channels, scale: [0.7, 1], ratio: [0.8, 1.25], flip: true, jitter: 0.2 }
    : {
        size: imageSize,
        channels,
        scale: [0.35, 1],
        ratio: [0.75, 1.333],
        flip: false,
        jitter: 0.4,
      };
}

/**
 * How the general model's pairs weigh "the same thing drawn in another style" against copies:
 * `crossStyle` is the chance that a draw of an identity with several drawings pairs two different
 * drawings; `repeats` how many times an epoch such an identity is drawn; `augment` the views of
 * a cross-style pair ('copy': the copy-detection augmentation every pair gets; 'mild':
 * STYLE_AUGMENT, so the pair's difference is the style, not a crop or a sticker).
 */
export interface StylePairs {
  readonly crossStyle: number;
  readonly repeats: number;
  readonly augment: 'copy' | 'mild';
}

/** What the general model trained on until StylePairs existed. */
export const DEFAULT_STYLE_PAIRS: StylePairs = { crossStyle: 0.5, repeats: 1, augment: 'copy' };

/**
 * The views of a cross-style pair under `augment: 'mild'`: a crop down to half the area, flips
 * and mild colour jitter, and of the distortions only the photometric ones at low rates. Quarter
 * turns are left to the encoder's view pooling (src/model/views.ts).
 */
export const STYLE_AUGMENT = {
  scale: [0.5, 1] as const,
  ratio: [0.8, 1.25] as const,
  flip: true,
  rot90: false,
  jitter: 0.2,
  distort: { overlay: 0, text: 0, border: 0.1, grey: 0.2, blur: 0.1, downscale: 0.1, jpeg: 0.1 },
};

/** A pair option's rate (0-1) and draws an epoch (1-16), or a ValidationError naming the flags. */
function checkPairCounts(rateFlag: string, rate: number, repeatsFlag: string, repeats: number) {
  if (!(rate >= 0 && rate <= 1))
    throw new ValidationError(`--${rateFlag} must be a rate from 0 to 1, got ${rate}`);
  if (!(Number.isInteger(repeats) && repeats >= 1 && repeats <= 16))
    throw new ValidationError(
      `--${repeatsFlag} must be a whole number from 1 to 16, got ${repeats}`,
    );
}

export function checkStylePairs(p: StylePairs): StylePairs {
  checkPairCounts('style-pairs', p.crossStyle, 'style-repeats', p.repeats);
  if (p.augment !== 'copy' && p.augment !== 'mild')
    throw new ValidationError(`--style-augment must be copy or mild, got '${String(p.augment)}'`);
  return p;
}

/**
 * Category pairs: `rate` is the chance that a draw of an image with a subject category (clip art:
 * SUBJECT_CATEGORY_KINDS) that is not already a cross-style pair pairs it with another training
 * image of its category, so the pair teaches "the same kind of thing" (supervised contrastive
 * positives, Khosla et al. 2020); `repeats` how many times an epoch such an image is drawn.
 */
export interface CategoryPairs {
  readonly rate: number;
  readonly repeats: number;
}

/**
 * Kinds whose manifest category names the subject. Icon contexts (actions, devices...) name a
 * function and photo categories a whole package (landscapes): as positives they would pull
 * unrelated images, and photo copies, together.
 */
export const SUBJECT_CATEGORY_KINDS: readonly CorpusKind[] = ['clipart'];

/** The subject category of a corpus entry, or null. */
export function subjectCategory(e: Pick<CorpusEntry, 'kind' | 'category'>): string | null {
  return SUBJECT_CATEGORY_KINDS.includes(e.kind) ? e.category : null;
}

export function checkCategoryPairs(p: CategoryPairs): CategoryPairs {
  checkPairCounts('category-pairs', p.rate, 'category-repeats', p.repeats);
  return p;
}

/**
 * Draws per epoch of a unit: its kind's repeats (KIND_REPEATS), except that a run given style
 * pairs draws every unit with several drawings `repeats` times (photos before and after an edit
 * included), and a run given category pairs draws every unit with a subject category (`category`
 * true) `categoryPairs.repeats` times. Without them the rule is the one every run before them
 * used, so they resume exactly.
 */
export function unitRepeats(
  stylePairs: StylePairs | undefined,
  kindRepeats: number,
  drawings: number,
  categoryPairs?: { readonly pairs: CategoryPairs | undefined; readonly category: boolean },
): number {
  if (categoryPairs?.pairs && categoryPairs.category) return categoryPairs.pairs.repeats;
  return stylePairs && drawings > 1 ? stylePairs.repeats : kindRepeats;
}

/** The augmentation of cross-style pairs, or null when they get the ordinary one. */
export function styleAugmentFor(
  p: StylePairs,
  imageSize: number,
  channels: number,
): AugmentOptions | null {
  return p.augment === 'mild' ? { size: imageSize, channels, ...STYLE_AUGMENT } : null;
}

/** Position in the data order; enough to resume it exactly. */
export interface SamplerState {
  epoch: number;
  pos: number;
}

/**
 * Seeded epoch-wise sampler. For class data it draws `batch` images; for instance data (emoji) it
 * draws batch/views identities and returns all their images together, so every image has
 * positives in its batch (and in its worker's shard, which splits at identity boundaries).
 */
export class Sampler {
  private order: number[] = [];
  private readonly units: number[][];

  constructor(
    private readonly set: ImageSet,
    private readonly byIdentity: boolean,
    private readonly seed: number,
    public state: SamplerState = { epoch: 0, pos: 0 },
  ) {
    if (byIdentity) {
      const groups = new Map<number, number[]>();
      set.labels.forEach((l, i) => groups.set(l, [...(groups.get(l) ?? []), i]));
      this.units = [...groups.values()];
    } else {
      this.units = Array.from({ length: set.labels.length }, (_, i) => [i]);
    }
    this.shuffle();
  }

  private shuffle() {
    this.order = new Rng(this.seed * 1_000_003 + this.state.epoch).shuffle([...this.units.keys()]);
  }

  /** Images per unit (1, or the views of one identity). */
  get unitSize(): number {
    return this.units[0]!.length;
  }

  /** The next `nUnits` units' image indices, grouped by unit. */
  next(nUnits: number): number[][] {
    const out: number[][] = [];
    while (out.length < nUnits) {
      if (this.state.pos >= this.order.length) {
        this.state = { epoch: this.state.epoch + 1, pos: 0 };
        this.shuffle();
      }
      out.push(this.units[this.order[this.state.pos++]!]!);
    }
    return out;
  }

  get unitsPerEpoch(): number {
    return this.units.length;
  }
}

/** How many times per epoch a unit of each kind is drawn: photos are scarce and matter most. */
export const KIND_REPEATS: Partial<Record<CorpusKind, number>> = { photo: 4 };

/**
 * Pairs for instance discrimination (SimCLR / SSCD): each unit is one cross-style identity (all
 * images sharing a label), drawn `repeats(unit)` times per epoch in a seeded order, and each draw
 * yields two images: two different drawings of it with probability `crossStyle` when it has
 * several, else the same image twice (two augmentations of it make the pair). With `categories`,
 * a draw that is still one image twice pairs it, with probability `categories.rate`, with another
 * image of its category (`categories.of`, null: none) instead. The two images of a pair are
 * positives of each other in the loss whatever their labels (accumulateGradients' pairLabels).
 */
export class PairSampler {
  private order: number[] = [];
  private readonly units: number[][];
  private readonly draws: number[];
  /** Each image with a category: the images of its category, itself included. */
  private readonly byCategory = new Map<number, number[]>();

  constructor(
    set: ImageSet,
    private readonly seed: number,
    public state: SamplerState = { epoch: 0, pos: 0 },
    repeats: (unit: readonly number[]) => number = () => 1,
    private readonly crossStyle = 0.5,
    private readonly categories: {
      readonly of: (image: number) => string | null;
      readonly rate: number;
    } | null = null,
  ) {
    const groups = new Map<number, number[]>();
    set.labels.forEach((l, i) => {
      const g = groups.get(l);
      if (g) g.push(i);
      else groups.set(l, [i]);
    });
    this.units = [...groups.values()];
    this.draws = this.units.flatMap((u, k) => Array<number>(repeats(u)).fill(k));
    if (categories) {
      const lists = new Map<string, number[]>();
      for (let i = 0; i < set.labels.length; i++) {
        const c = categories.of(i);
        if (c === null) continue;
        const list = lists.get(c);
        if (list) list.push(i);
        else lists.set(c, [i]);
        this.byCategory.set(i, lists.get(c)!);
      }
    }
    this.shuffle();
  }

  private shuffle() {
    this.order = new Rng(this.seed * 1_000_003 + this.state.epoch).shuffle([...this.draws]);
  }

  /** Two images per unit. */
  get unitSize(): number {
    return 2;
  }

  next(nUnits: number): number[][] {
    const out: number[][] = [];
    while (out.length < nUnits) {
      if (this.state.pos >= this.order.length) {
        this.state = { epoch: this.state.epoch + 1, pos: 0 };
        this.shuffle();
      }
      const pos = this.state.pos++;
      const unit = this.units[this.order[pos]!]!;
      const rng = new Rng((this.seed * 2_246_822_519) ^ (this.state.epoch * 3_266_489_917) ^ pos);
      const a = rng.int(unit.length);
      let b = a;
      if (unit.length > 1 && rng.uniform() < this.crossStyle) {
        b = rng.int(unit.length - 1);
        if (b >= a) b++;
      }
      let second = unit[b]!;
      const peers = this.categories && a === b ? this.byCategory.get(unit[a]!) : undefined;
      if (peers && peers.length > 1 && rng.uniform() < this.categories!.rate) {
        const self = peers.indexOf(unit[a]!);
        let j = rng.int(peers.length - 1);
        if (j >= self) j++;
        second = peers[j]!;
      }
      out.push([unit[a]!, second]);
    }
    return out;
  }

  get unitsPerEpoch(): number {
    return this.order.length;
  }

  /** How many images have a category, in how many categories (0, 0 without categories). */
  get categorised(): { images: number; categories: number } {
    return { images: this.byCategory.size, categories: new Set(this.byCategory.values()).size };
  }
}
