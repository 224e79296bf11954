/**
 * The contract every vector index meets: cosine similarity over d-dim float32 vectors keyed by
 * integer labels (image ids). Exact (`BruteForceIndex`) and approximate (`HnswIndex`) indexes share
 * it, so the recall tests compare one against the other and another engine can be plugged in.
 */
import { renameSync, writeFileSync } from 'node:fs';
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

/** The first round of an over-fetch for `k` filtered hits out of `n` live vectors. */
function firstWant(n: number, k: number): number {
  return Math.min(n, Math.max(2 * k, k + 16));
}

function passing(hits: SearchHits, k: number, filter: (label: number) => boolean): SearchHits {
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < hits.labels.length && labels.length < k; i++) {
    if (!filter(hits.labels[i]!)) continue;
    labels.push(hits.labels[i]!);
    scores.push(hits.scores[i]!);
  }
  return { labels, scores };
}

/**
 * A filtered search for engines without a native filter: asks `fetch` for 2k, then 4x more each
 * round, until k labels pass or all `n` live vectors were asked for.
 */
export function searchFiltered(
  n: number,
  k: number,
  filter: (label: number) => boolean,
  fetch: (want: number) => SearchHits,
): SearchHits {
  const kk = Math.min(k, n);
  for (let want = firstWant(n, kk); ; want = Math.min(n, want * 4)) {
    const hits = passing(fetch(want), kk, filter);
    if (hits.labels.length >= kk || want >= n) return hits;
  }
}

/** `searchFiltered` for a fetch that answers later (an index in a worker thread). */
export async function searchFilteredAsync(
  n: number,
  k: number,
  filter: (label: number) => boolean,
  fetch: (want: number) => Promise<SearchHits>,
): Promise<SearchHits> {
  const kk = Math.min(k, n);
  for (let want = firstWant(n, kk); ; want = Math.min(n, want * 4)) {
    const hits = passing(await fetch(want), kk, filter);
    if (hits.labels.length >= kk || want >= n) return hits;
  }
}

/**
 * Saves an index as three files, each written to a temp name first: the engine's own file
 * (`writeMain` writes it to the path it is given), the live labels, and a JSON sidecar. The
 * sidecar is renamed last, so its presence means the other two are complete.
 */
export function saveIndexFiles(
  path: string,
  writeMain: (tmp: string) => void,
  sidecar: object,
  labels: Iterable<number>,
): void {
  writeMain(`${path}.tmp`);
  writeFileSync(`${path}.json.tmp`, JSON.stringify(sidecar));
  writeFileSync(`${path}.labels.tmp`, Buffer.from(Float64Array.from(labels).buffer));
  renameSync(`${path}.tmp`, path);
  renameSync(`${path}.labels.tmp`, `${path}.labels`);
  renameSync(`${path}.json.tmp`, `${path}.json`);
}
