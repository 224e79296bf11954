/**
 * The four tasks of `matsearch eval --data general`, each scored for the model at every query
 * width (against full-width database vectors) and for every baseline, on the same queries:
 * copy detection on held-out photos, cross-style retrieval on held-out styles, category retrieval
 * on held-out labelled sets, and Fashion-MNIST kNN for continuity. A task whose data is absent
 * comes back `skipped` with the reason.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Embedder } from '../embed/embedder.js';
import { ValidationError } from '../errors.js';
import { loadFashionMnist } from '../data/fmnist.js';
import { imageAt, imageCount } from '../data/image-set.js';
import { FMNIST_SUBDIR } from '../data/paths.js';
import { Rng } from '../util/rng.js';
import {
  categorySets,
  distractors,
  heldOutPhotos,
  trainingPhotos,
  missingStyles,
  stylePairs,
  type CorpusImage,
} from './general-data.js';
import { extractFeatures, methodNames } from './general-features.js';
import { scoreSet, type SetResult } from './general-score.js';
import { EXPECTED_CATEGORY_SETS } from './general-report.js';
import { applyTransform, decodeRgb, type RgbImage } from './transforms.js';

export type TaskName = 'copy' | 'style' | 'category' | 'fmnist';

export interface TaskResult {
  readonly task: TaskName;
  readonly status: 'ok' | 'skipped';
  /** Why it was skipped, or what is missing from a partial run. */
  readonly reason?: string;
  readonly notes: string[];
  readonly sets: SetResult[];
}

export interface TaskContext {
  readonly embedder: Embedder;
  readonly widths: readonly string[];
  readonly seed: number;
  /** Run on fewer held-out photos or distractors than the protocol asks (development only). */
  readonly allowSmall: boolean;
  readonly distractors: number;
  readonly transforms: readonly string[];
  /** Images per category set at most. */
  readonly categoryCap: number;
  readonly fmnistQueries: number;
  readonly fmnistDatabase: number;
  readonly dataRoot: string;
  /**
   * 'train': copy detection on a seeded sample of training photos instead of the held-out ones
   * (a validation set for choosing settings; the other tasks need held-out data).
   */
  readonly split: 'train' | 'test';
  readonly log: (s: string) => void;
}

export const MIN_HELDOUT_PHOTOS = 300;

/** A well-mixed 32-bit seed from several integers (murmur3's finaliser per step). */
export function mixSeed(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const skipped = (task: TaskName, reason: string): TaskResult => ({
  task,
  status: 'skipped',
  reason,
  notes: [],
  sets: [],
});

function progress(ctx: TaskContext, what: string) {
  let last = 0;
  return (done: number, total: number) => {
    if (done === total || done - last >= 1000) {
      last = done;
      ctx.log(`${what}: ${done}/${total}`);
    }
  };
}

async function load(e: CorpusImage): Promise<RgbImage> {
  try {
    return await decodeRgb(e.path);
  } catch (err) {
    throw new ValidationError(`cannot decode corpus image ${e.path}: ${(err as Error).message}`);
  }
}

export async function copyDetection(
  images: readonly CorpusImage[],
  ctx: TaskContext,
): Promise<TaskResult> {
  const train = ctx.split === 'train';
  const originals = train
    ? trainingPhotos(images, MIN_HELDOUT_PHOTOS, mixSeed(ctx.seed, 2))
    : heldOutPhotos(images);
  const kind = train ? 'training' : 'held-out';
  if (originals.length === 0)
    return skipped(
      'copy',
      `no ${train ? 'training' : 'held-out (gcompris-qt-data)'} photos in the corpus: run \`matsearch data --corpus photos\``,
    );
  const notes: string[] = [];
  if (originals.length < MIN_HELDOUT_PHOTOS) {
    const msg = `only ${originals.length} ${kind} photos, the protocol needs at least ${MIN_HELDOUT_PHOTOS}`;
    if (!ctx.allowSmall)
      throw new ValidationError(`${msg} (--allow-small runs anyway, for development)`);
    notes.push(`**${msg}** (run with --allow-small: not a valid result)`);
  }
  const extra = distractors(images, ctx.distractors, ctx.seed, originals);
  if (extra.length < ctx.distractors) {
    const msg = `only ${extra.length} distractors available, the protocol asks for ${ctx.distractors}`;
    if (!ctx.allowSmall)
      throw new ValidationError(`${msg} (--allow-small runs anyway, for development)`);
    notes.push(`**${msg}** (run with --allow-small: not a valid result)`);
  }
  // The database in a seeded order, so ties (hashes) favour no one.
  const db = new Rng(mixSeed(ctx.seed, 1)).shuffle([
    ...originals.map((img, orig) => ({ img, orig })),
    ...extra.map((img) => ({ img, orig: -1 })),
  ]);
  const bySource = new Map<string, number>();
  for (const e of extra) bySource.set(e.source, (bySource.get(e.source) ?? 0) + 1);
  notes.push(
    `database: ${originals.length} ${kind} originals + ${extra.length} distractors (` +
      [...bySource].map(([s, n]) => `${s} ${n}`).join(', ') +
      ')',
  );
  const D = await extractFeatures(db.length, (i) => load(db[i]!.img), {
    embedder: ctx.embedder,
    widths: ['1'],
    log: progress(ctx, 'copy detection database'),
  });
  const T = ctx.transforms.length;
  let cached: { p: number; img: Promise<RgbImage> } | null = null;
  const original = (p: number) => {
    if (cached?.p !== p) cached = { p, img: load(originals[p]!) };
    return cached.img;
  };
  // Query q = p * T + t: photo p under transform t, its randomness fixed by (seed, p, t).
  const Q = await extractFeatures(
    originals.length * T,
    async (q) => {
      const p = Math.floor(q / T);
      const t = q % T;
      return applyTransform(
        ctx.transforms[t]!,
        await original(p),
        new Rng(mixSeed(ctx.seed, p, t)),
      );
    },
    {
      embedder: ctx.embedder,
      widths: ctx.widths,
      batch: T * 2,
      log: progress(ctx, 'copy detection queries'),
    },
  );
  const set = scoreSet({
    name: 'copy detection',
    protocol:
      `each of ${originals.length} ${kind} photos under ${T} transforms queries ${db.length} images; ` +
      'relevant = its original; resampled by photo',
    Q,
    D,
    methods: methodNames(ctx.widths),
    isRelevant: (q, j) => db[j]!.orig === Math.floor(q / T),
    relevantCount: () => 1,
    cluster: Int32Array.from({ length: Q.n }, (_, q) => Math.floor(q / T)),
    metrics: ['recallAt1', 'recallAt10'],
    groups: ctx.transforms.map((name, t) => ({
      name,
      idx: Array.from(originals, (_, p) => p * T + t),
    })),
  });
  return { task: 'copy', status: 'ok', notes, sets: [set] };
}

export async function crossStyle(
  images: readonly CorpusImage[],
  ctx: TaskContext,
): Promise<TaskResult> {
  const pairs = stylePairs(images);
  const missing = missingStyles(images, pairs);
  if (pairs.length === 0)
    return skipped('style', `no held-out style with a trained gallery: ${missing.join('; ')}`);
  const sets: SetResult[] = [];
  for (const p of pairs) {
    const Q = await extractFeatures(p.queries.length, (i) => load(p.queries[i]!), {
      embedder: ctx.embedder,
      widths: ctx.widths,
      log: progress(ctx, `${p.query} queries`),
    });
    const D = await extractFeatures(p.galleryImages.length, (i) => load(p.galleryImages[i]!), {
      embedder: ctx.embedder,
      widths: ['1'],
      log: progress(ctx, `${p.gallery} gallery`),
    });
    const count = new Map<string, number>();
    for (const g of p.galleryImages) count.set(g.key!, (count.get(g.key!) ?? 0) + 1);
    const keyId = new Map([...count.keys()].map((k, i) => [k, i]));
    sets.push(
      scoreSet({
        name: `${p.query} -> ${p.gallery}`,
        protocol:
          `each of ${p.queries.length} held-out ${p.query} images (one per key) queries the ` +
          `${p.galleryImages.length} ${p.gallery} images; relevant = same key; resampled by key`,
        Q,
        D,
        methods: methodNames(ctx.widths),
        isRelevant: (q, j) => p.galleryImages[j]!.key === p.queries[q]!.key,
        relevantCount: (q) => count.get(p.queries[q]!.key!) ?? 0,
        cluster: Int32Array.from(p.queries, (e) => keyId.get(e.key!)!),
        metrics: ['recallAt1', 'recallAt10', 'mapAt10'],
      }),
    );
  }
  return {
    task: 'style',
    status: 'ok',
    ...(missing.length ? { reason: `skipped styles: ${missing.join('; ')}` } : {}),
    notes: [],
    sets,
  };
}

export async function categoryRetrieval(
  images: readonly CorpusImage[],
  ctx: TaskContext,
): Promise<TaskResult> {
  const sets = categorySets(images, ctx.categoryCap, ctx.seed);
  if (sets.length === 0)
    return skipped(
      'category',
      'no held-out images with a category (gcompris, art4apps, openclipart) in the corpus',
    );
  const out: SetResult[] = [];
  for (const s of sets) {
    // Leave-one-out: every image queries the others at full width.
    const F = await extractFeatures(s.images.length, (i) => load(s.images[i]!), {
      embedder: ctx.embedder,
      widths: ctx.widths,
      log: progress(ctx, `${s.name} categories`),
    });
    const count = new Map<string, number>();
    for (const e of s.images) count.set(e.category!, (count.get(e.category!) ?? 0) + 1);
    out.push(
      scoreSet({
        name: s.name,
        protocol:
          `each of ${s.images.length} held-out ${s.name} images (${count.size} categories) queries ` +
          'the others; relevant = same category; resampled by query',
        Q: F,
        D: F,
        methods: methodNames(ctx.widths),
        skip: (q, j) => q === j,
        isRelevant: (q, j) => s.images[j]!.category === s.images[q]!.category,
        relevantCount: (q) => count.get(s.images[q]!.category!)! - 1,
        cluster: Int32Array.from(s.images, (_, i) => i),
        metrics: ['precisionAt10', 'recallAt10'],
      }),
    );
  }
  const absent = EXPECTED_CATEGORY_SETS.filter((n) => !sets.some((s) => s.name === n));
  return {
    task: 'category',
    status: 'ok',
    ...(absent.length ? { reason: `no held-out labelled images from ${absent.join(', ')}` } : {}),
    notes: [],
    sets: out,
  };
}

/** Nearest-neighbour top-1: seeded test queries against a seeded sample of the training set. */
export async function fmnistKnn(ctx: TaskContext): Promise<TaskResult> {
  if (!existsSync(join(ctx.dataRoot, FMNIST_SUBDIR, 't10k-images-idx3-ubyte.gz')))
    return skipped('fmnist', 'Fashion-MNIST is not downloaded: run `npm run data`');
  const test = loadFashionMnist('test', ctx.dataRoot);
  const train = loadFashionMnist('train', ctx.dataRoot);
  const pick = (n: number, of: number, seed: number) =>
    new Rng(seed).shuffle([...Array(of).keys()]).slice(0, n);
  const qi = pick(ctx.fmnistQueries, imageCount(test), mixSeed(ctx.seed, 2));
  const di = pick(ctx.fmnistDatabase, imageCount(train), mixSeed(ctx.seed, 3));
  // Grey 28x28 -> RGB (replicated), then the engine's preprocessing to the model's input.
  const raw = (set: typeof test, i: number) =>
    decodeRgb({ data: imageAt(set, i), width: 28, height: 28, channels: 1 });
  const Q = await extractFeatures(qi.length, (k) => raw(test, qi[k]!), {
    embedder: ctx.embedder,
    widths: ctx.widths,
    log: progress(ctx, 'fmnist queries'),
  });
  const D = await extractFeatures(di.length, (k) => raw(train, di[k]!), {
    embedder: ctx.embedder,
    widths: ['1'],
    log: progress(ctx, 'fmnist database'),
  });
  const ql = qi.map((i) => test.labels[i]!);
  const dl = di.map((i) => train.labels[i]!);
  const count = new Map<number, number>();
  for (const l of dl) count.set(l, (count.get(l) ?? 0) + 1);
  const set = scoreSet({
    name: 'fashion-mnist',
    protocol:
      `${qi.length} test images (seeded sample) each find their nearest of ${di.length} training ` +
      'images; top-1 = the neighbour has the same class; resampled by query',
    Q,
    D,
    methods: methodNames(ctx.widths),
    isRelevant: (q, j) => dl[j] === ql[q],
    relevantCount: (q) => count.get(ql[q]!) ?? 0,
    cluster: Int32Array.from(qi, (_, k) => k),
    metrics: ['recallAt1'],
  });
  return { task: 'fmnist', status: 'ok', notes: [], sets: [set] };
}
