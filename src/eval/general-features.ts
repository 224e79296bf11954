/**
 * Features of many images for every method of the general evaluation: the model at each query
 * width (through the engine's Embedder and preprocessing, as ingest and search embed) and the
 * baselines (baselines.ts), and exact top-k ranking of queries against a database per method.
 */
import type { Embedder } from '../embed/embedder.js';
import { preprocessImage } from '../runtime/preprocess.js';
import {
  BASELINE_DIM,
  BASELINES,
  baselineFeatures,
  isHashBaseline,
  type BaselineName,
} from './baselines.js';
import { hamming } from './hashes.js';
import { rankTopK } from './rank.js';
import { topK } from './retrieval.js';
import type { RgbImage } from './transforms.js';

/** 'model@1', 'model@1/4', ... then the baselines. */
export type MethodName = string;

export const modelMethod = (width: string): MethodName => `model@${width}`;

export function methodNames(widths: readonly string[]): MethodName[] {
  return [...widths.map(modelMethod), ...BASELINES];
}

export interface FeatureSet {
  readonly n: number;
  readonly dim: number;
  /** Width -> [n, dim] unit vectors. */
  readonly model: Map<string, Float32Array>;
  readonly baselines: Record<BaselineName, Float32Array | Uint32Array>;
}

export interface ExtractOptions {
  readonly embedder: Embedder;
  /** Widths to embed at (a database needs only the full width). */
  readonly widths: readonly string[];
  /** Images decoded and embedded at once (decoding runs on sharp's thread pool). */
  readonly batch?: number;
  readonly log?: (done: number, total: number) => void;
}

/** Features of images 0..n-1, `load(i)` giving each one's RGB pixels. */
export async function extractFeatures(
  n: number,
  load: (i: number) => Promise<RgbImage>,
  o: ExtractOptions,
): Promise<FeatureSet> {
  const e = o.embedder;
  const dim = e.dim;
  const batch = o.batch ?? 32;
  const model = new Map(o.widths.map((w) => [w, new Float32Array(n * dim)] as const));
  const baselines = Object.fromEntries(
    BASELINES.map((b) => [
      b,
      isHashBaseline(b)
        ? new Uint32Array(n * BASELINE_DIM[b])
        : new Float32Array(n * BASELINE_DIM[b]),
    ]),
  ) as Record<BaselineName, Float32Array | Uint32Array>;
  const size = e.inputSize;
  const channels = e.inputChannels === 1 ? 1 : 3;
  for (let s = 0; s < n; s += batch) {
    const idx = Array.from({ length: Math.min(batch, n - s) }, (_, k) => s + k);
    const done = await Promise.all(
      idx.map(async (i) => {
        const img = await load(i);
        const [input, base] = await Promise.all([
          preprocessImage(img, { size, channels, preprocess: e.preprocess }),
          baselineFeatures(img),
        ]);
        return { input, base };
      }),
    );
    done.forEach(({ base }, k) => {
      for (const b of BASELINES) baselines[b].set(base[b], (s + k) * BASELINE_DIM[b]);
    });
    const inputs = done.map((d) => d.input);
    for (const w of o.widths) {
      const out = await e.embed(inputs, w);
      out.forEach((v, k) => model.get(w)!.set(v, (s + k) * dim));
    }
    o.log?.(s + idx.length, n);
  }
  return { n, dim, model, baselines };
}

/** The rows `idx` of a feature set (copied). */
export function selectRows(f: FeatureSet, idx: readonly number[]): FeatureSet {
  const pick = <T extends Float32Array | Uint32Array>(a: T, d: number): T => {
    const out = new (a.constructor as new (n: number) => T)(idx.length * d);
    idx.forEach((i, k) => out.set(a.subarray(i * d, (i + 1) * d), k * d));
    return out;
  };
  return {
    n: idx.length,
    dim: f.dim,
    model: new Map([...f.model].map(([w, a]) => [w, pick(a, f.dim)])),
    baselines: Object.fromEntries(
      BASELINES.map((b) => [b, pick(f.baselines[b], BASELINE_DIM[b])]),
    ) as FeatureSet['baselines'],
  };
}

/** Top-k database rows of every query by Hamming distance (ties: lower row first). */
function rankHamming(
  Q: Uint32Array,
  D: Uint32Array,
  nq: number,
  nd: number,
  k: number,
  skip: (q: number, j: number) => boolean,
): number[][] {
  const scores = new Float32Array(nd);
  return Array.from({ length: nq }, (_, q) => {
    for (let j = 0; j < nd; j++) scores[j] = -hamming(Q, q, D, j);
    return topK(scores, k, (j) => skip(q, j));
  });
}

/**
 * Ranked top-k database rows for each query under `method`. A model method's query width is
 * searched against the database's full-width vectors (`dbWidth`).
 */
export function rankMethod(
  method: MethodName,
  Q: FeatureSet,
  D: FeatureSet,
  k: number,
  skip: (q: number, j: number) => boolean = () => false,
  dbWidth = '1',
): number[][] {
  if (Q.n === 0 || D.n === 0) return Array.from({ length: Q.n }, () => []);
  if (method.startsWith('model@')) {
    const q = Q.model.get(method.slice('model@'.length));
    const d = D.model.get(dbWidth);
    if (!q || !d)
      throw new Error(`rankMethod: no ${method} queries or ${dbWidth} database vectors`);
    return rankTopK(q, d, Q.dim, k, skip);
  }
  const b = method as BaselineName;
  if (isHashBaseline(b))
    return rankHamming(
      Q.baselines[b] as Uint32Array,
      D.baselines[b] as Uint32Array,
      Q.n,
      D.n,
      k,
      skip,
    );
  return rankTopK(
    Q.baselines[b] as Float32Array,
    D.baselines[b] as Float32Array,
    BASELINE_DIM[b],
    k,
    skip,
  );
}
