/**
 * The matching pairs a learned whitening (model/whitening.ts) is fitted on, made from training
 * images only, with the trainer's own views. Each image gives its database vector (the whole
 * image at full width) and four kinds of match, each at every query width:
 *   - 'augment':  a training view (crop, flip, quarter turn, jitter, distortions);
 *   - 'geometry': the whole image flipped and/or turned (nothing else);
 *   - 'photo':    the whole image with colour jitter and the distortions only;
 *   - 'width':    the whole image at a narrower width (a narrow query against full-width vectors).
 * Each kind is one family with an equal share of C_S, so no one kind of change dominates the
 * map: a quarter turn is rarer in the full augmentation than a crop, but no less a copy.
 */
import type { Embedder } from '../embed/embedder.js';
import type { ImageSet } from '../data/image-set.js';
import type { PairFamily } from '../model/whitening.js';
import { Rng } from '../util/rng.js';
import { augmentView, centerView, type AugmentOptions } from './augment.js';

export const PAIR_KINDS = ['augment', 'geometry', 'photo', 'width'] as const;
export type PairKind = (typeof PAIR_KINDS)[number];

export interface WhiteningPairs {
  /** Database vectors [n, D]: each image whole, at full width. */
  readonly database: Float32Array;
  readonly families: PairFamily[];
  /** Pairs per kind (over all widths). */
  readonly counts: Record<PairKind, number>;
  /** Each narrower width's vectors of the database images [n, D] (the 'width' kind's queries). */
  readonly narrow: ReadonlyMap<string, Float32Array>;
}

export interface PairOptions {
  readonly embedder: Embedder;
  /** Training images (never held-out ones): [n, S, S, 3]. */
  readonly images: ImageSet;
  /** The trainer's augmentation of this model (train/data.ts augmentFor). */
  readonly augment: AugmentOptions;
  /** Query widths, '1' first; the database is always width '1'. */
  readonly widths: readonly string[];
  /** Images sampled, with replacement. */
  readonly count: number;
  /**
   * Each image's sampling group (e.g. its corpus source): groups are drawn equally often, so a
   * large source (icons) does not drown a small one (photos). Absent: images drawn uniformly.
   */
  readonly groupOf?: (i: number) => string;
  readonly seed: number;
  readonly batch?: number;
  readonly log?: (done: number, total: number) => void;
}

/** Embeds the sampled images and their views; see the file comment for the families. */
export async function collectWhiteningPairs(o: PairOptions): Promise<WhiteningPairs> {
  const { embedder: e, images: set, augment } = o;
  if (set.channels !== 3) throw new RangeError('whitening pairs need RGB training images');
  if (o.widths[0] !== '1') throw new RangeError("whitening pairs: the first width must be '1'");
  const rng = new Rng(o.seed);
  const n = set.labels.length;
  const S = set.size;
  const per = S * S * 3;
  const M = augment.size;
  const D = e.dim;
  const img = (i: number) => set.pixels.subarray(i * per, (i + 1) * per);
  const overlay = () => ({ img: img(Math.floor(rng.uniform() * n)), src: S });
  const { distort, ...noDistort } = augment;
  const geometry: AugmentOptions = { ...noDistort, scale: [1, 1], ratio: [1, 1], jitter: 0 };
  const photo: AugmentOptions = {
    ...noDistort,
    ...(distort ? { distort } : {}),
    scale: [1, 1],
    ratio: [1, 1],
    flip: false,
    rot90: false,
  };
  const views: Record<Exclude<PairKind, 'width'>, AugmentOptions> = {
    augment,
    geometry,
    photo,
  };
  const count = o.count;
  const database = new Float32Array(count * D);
  // kind -> width -> [count, D] query vectors
  const queries = new Map<PairKind, Map<string, Float32Array>>(
    PAIR_KINDS.map((k) => [
      k,
      new Map(
        o.widths
          .filter((w) => k !== 'width' || w !== '1')
          .map((w) => [w, new Float32Array(count * D)] as const),
      ),
    ]),
  );
  const batch = o.batch ?? 64;
  const view = (i: number, opts: AugmentOptions | null) => {
    const out = new Float32Array(M * M * 3);
    if (opts) augmentView(img(i), S, 3, opts, rng, out, overlay);
    else centerView(img(i), S, 3, M, 3, out);
    return out;
  };
  const draw = sampler(n, o.groupOf, rng);
  for (let s = 0; s < count; s += batch) {
    const ids = Array.from({ length: Math.min(batch, count - s) }, draw);
    const whole = ids.map((i) => view(i, null));
    const put = (dst: Float32Array, rows: Float32Array[]) =>
      rows.forEach((v, k) => dst.set(v, (s + k) * D));
    put(database, await e.embed(whole, '1'));
    for (const w of o.widths.slice(1)) put(queries.get('width')!.get(w)!, await e.embed(whole, w));
    for (const kind of ['augment', 'geometry', 'photo'] as const) {
      const v = ids.map((i) => view(i, views[kind]));
      for (const w of o.widths) put(queries.get(kind)!.get(w)!, await e.embed(v, w));
    }
    o.log?.(s + ids.length, count);
  }
  const families: PairFamily[] = [];
  const counts = {} as Record<PairKind, number>;
  for (const kind of PAIR_KINDS) {
    const byWidth = [...queries.get(kind)!.values()];
    counts[kind] = byWidth.length * count;
    // Each kind's share is 1, split evenly over its widths.
    for (const q of byWidth) families.push({ a: database, b: q, weight: 1 / byWidth.length });
  }
  return { database, families, counts, narrow: queries.get('width')! };
}

/** Draws an image index: a group uniformly, then an image of it uniformly (or any image). */
function sampler(n: number, groupOf: ((i: number) => string) | undefined, rng: Rng): () => number {
  if (!groupOf) return () => Math.floor(rng.uniform() * n);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groupOf(i);
    const list = groups.get(g);
    if (list) list.push(i);
    else groups.set(g, [i]);
  }
  const lists = [...groups.keys()].sort().map((g) => groups.get(g)!);
  return () => {
    const list = lists[Math.floor(rng.uniform() * lists.length)]!;
    return list[Math.floor(rng.uniform() * list.length)]!;
  };
}
