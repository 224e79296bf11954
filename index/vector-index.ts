/**
 * The contract every vector index meets: cosine similarity over d-dim float32 vectors keyed by
 * integer labels (image ids). Exact (`BruteForceIndex`) and approximate (`HnswIndex`) indexes share
 * it, so the recall tests compare one against the other and another engine can be plugged in.
 */
export interface SearchHits {
  /** Labels, best first. */
  readonly labels: number[];
  /** Cosine similarities, same order. */
  readonly scores: number[];
}

export interface VectorIndex {
  readonly kind: string;
  readonly dim: number;
  /** Live (not deleted) vectors. */
  readonly size: number;
  /** Adds or replaces the vector of `label`. */
  add(label: number, vector: Float32Array): void;
  /** Removes `label`; false when it was not there. */
  remove(label: number): boolean;
  has(label: number): boolean;
  /** The k most similar live vectors (fewer when the index is smaller). */
  search(query: Float32Array, k: number, filter?: (label: number) => boolean): SearchHits;
  /** Every live label. */
  labels(): number[];
  /** Writes the index to `path` (atomically: temp file then rename). */
  save(path: string): void;
  /** Frees native memory; idempotent; any later use throws. */
  close(): void;
}

/** Unit-length copy of v (the zero vector stays zero). */
export function normalized(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  return v.map((x) => x * inv);
}
