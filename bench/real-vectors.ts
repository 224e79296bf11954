/**
 * Real embeddings for the search bench: n augmented views of the bundled emoji (every vendor),
 * embedded at full width by a model, and query vectors from other views embedded at a narrow
 * width. A collection of many near-copies per source image is what near-duplicate search holds,
 * and its clusters are tighter than synthetic noise makes them.
 *
 * Encoding 100k views takes minutes, so the vectors are cached beside the bench's databases,
 * keyed by model id, count, query count and width.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEmbedder } from '../src/embed/open.js';
import { loadEmoji } from '../src/data/emoji.js';
import { imageAt, imageCount } from '../src/data/image-set.js';
import { augmentView, type AugmentOptions } from '../src/train/augment.js';
import { GENERAL_AUGMENT } from '../src/train/data.js';
import { Rng } from '../src/util/rng.js';
import { Progress } from '../src/util/progress.js';

export interface RealVectors {
  readonly modelId: string;
  readonly dim: number;
  /** [n, dim] full-width unit vectors, row i = image id i + 1. */
  readonly data: Float32Array;
  /** Query vectors at `queryWidth`, each from a view no stored vector was made from. */
  readonly queries: Float32Array[];
  readonly queryWidth: string;
}

const BATCH = 64;

async function embedViews(
  count: number,
  width: string,
  seed: number,
  modelDir: string,
  label: string,
): Promise<{ modelId: string; dim: number; data: Float32Array }> {
  const emoji = loadEmoji();
  const embedder = await openEmbedder(modelDir);
  try {
    const S = embedder.inputSize;
    const C = embedder.inputChannels;
    const o: AugmentOptions = { ...GENERAL_AUGMENT, size: S, channels: C, flip: false };
    const rng = new Rng(seed);
    const n = imageCount(emoji);
    const data = new Float32Array(count * embedder.dim);
    const bar = new Progress(count, label);
    for (let s = 0; s < count; s += BATCH) {
      const views: Float32Array[] = [];
      for (let i = s; i < Math.min(count, s + BATCH); i++) {
        const out = new Float32Array(S * S * C);
        augmentView(imageAt(emoji, rng.int(n)), emoji.size, emoji.channels, o, rng, out);
        views.push(out);
      }
      const vecs = await embedder.embed(views, width);
      vecs.forEach((v, j) => data.set(v, (s + j) * embedder.dim));
      bar.update(Math.min(count, s + BATCH), Math.min(count, s + BATCH), 'views');
    }
    bar.done();
    return { modelId: embedder.modelId, dim: embedder.dim, data };
  } finally {
    await embedder.close();
  }
}

/** n stored vectors and nq queries (width `queryWidth`), from the cache when it has them. */
export async function realVectors(
  n: number,
  nq: number,
  queryWidth: string,
  modelDir: string,
  cacheDir: string,
): Promise<RealVectors> {
  mkdirSync(cacheDir, { recursive: true });
  const key = `${n}-${nq}-${queryWidth.replace('/', 'of')}`;
  const meta = join(cacheDir, `real-${key}.json`);
  if (existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { modelId: string; dim: number };
    const buf = (f: string) => {
      const b = readFileSync(join(cacheDir, f));
      return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    };
    const data = buf(`real-${key}-data.f32`);
    const q = buf(`real-${key}-queries.f32`);
    const queries = Array.from({ length: nq }, (_, i) => q.slice(i * m.dim, (i + 1) * m.dim));
    if (data.length === n * m.dim) return { ...m, data, queries, queryWidth };
  }
  const stored = await embedViews(n, '1', 1, modelDir, 'stored views embedded');
  const q = await embedViews(nq, queryWidth, 2, modelDir, 'query views embedded');
  writeFileSync(join(cacheDir, `real-${key}-data.f32`), Buffer.from(stored.data.buffer));
  writeFileSync(join(cacheDir, `real-${key}-queries.f32`), Buffer.from(q.data.buffer));
  writeFileSync(meta, JSON.stringify({ modelId: stored.modelId, dim: stored.dim }));
  const queries = Array.from({ length: nq }, (_, i) =>
    q.data.slice(i * stored.dim, (i + 1) * stored.dim),
  );
  return { modelId: stored.modelId, dim: stored.dim, data: stored.data, queries, queryWidth };
}
