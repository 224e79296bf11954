/** Shared fixtures of the index and search tests: random vectors and an encoder stand-in. */
import type { Embedder } from '../../src/embed/embedder.js';
import { normalized, type VectorIndex } from '../../index/vector-index.js';
import { Rng } from '../../src/util/rng.js';

export function randomVectors(n: number, d: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.normal()));
}

/** The "image" is its own vector, at every width. */
export class IdentityEmbedder implements Embedder {
  readonly inputSize = 1;
  readonly inputChannels = 1;
  constructor(
    readonly dim: number,
    readonly modelId: string,
  ) {}
  widthLabel(w: unknown): string {
    return String(w);
  }
  widthRank(w: unknown): number {
    return String(w) === '1' ? 1 : 0.5;
  }
  async embed(inputs: readonly Float32Array[]): Promise<Float32Array[]> {
    return inputs.map((x) => normalized(x));
  }
  async close() {}
}

/** Recall@10 of `approx` against the exact index on `queries`. */
export function recallAt10(
  approx: VectorIndex,
  exact: VectorIndex,
  queries: Float32Array[],
): number {
  let hit = 0;
  for (const q of queries) {
    const truth = new Set(exact.search(q, 10).labels);
    hit += approx.search(q, 10).labels.filter((l) => truth.has(l)).length;
  }
  return hit / (10 * queries.length);
}
