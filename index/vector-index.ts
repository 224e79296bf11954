/**
 * The contract every vector index meets: cosine similarity over d-dim float32 vectors keyed by
 * integer labels (image ids). Exact (`BruteForceIndex`) and approximate (`HnswIndex`) indexes share
 * it, so the recall tests compare one against the other and another engine can be plugged in.
 */
import {
  closeSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { WeightsFormatError } from '../src/errors.js';
import { processAlive } from '../src/util/pid.js';

/**
 * The temp name an index file is written under before its rename: it carries the writer's pid,
 * so a writer killed mid-save leaves files `sweepIndexTemps` can tell from a live writer's.
 */
export function tempPath(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

/** Removes the index temp files in `dir` whose writer is gone; returns how many. */
export function sweepIndexTemps(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const m = /\.(\d+)\.tmp$/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    rmSync(join(dir, name), { force: true });
    n++;
  }
  return n;
}
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
  /**
   * The stored (unit-length) vectors of `labels`, undefined for a label not in the index (removed
   * since the search that found it): the rerank reads them from memory instead of the database.
   * Absent on engines without an exact copy (usearch: its binding cannot read a vector back, and
   * a quantized one is not exact anyway).
   */
  vectors?(labels: readonly number[]): (Float32Array | undefined)[];
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

/** SHA-256 of a file, read in 16 MiB chunks (an index file can be most of a gigabyte). */
export function fileSha256(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(16 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The checksums a sidecar keeps of the engine's file and the labels file. */
export interface IndexDigests {
  readonly index: string;
  readonly labels: string;
}

/**
 * Checks an index's files against the checksums saved with them, so damage that keeps sizes and
 * structure (a flipped bit) is caught and the index rebuilt, not searched. Sidecars written
 * before checksums were kept have none and pass.
 */
export function verifyIndexFiles(path: string, sha256: IndexDigests | undefined): void {
  if (!sha256) return;
  for (const [file, want] of [
    [path, sha256.index],
    [`${path}.labels`, sha256.labels],
  ] as const)
    if (fileSha256(file) !== want)
      throw new WeightsFormatError(`${file}: checksum mismatch (the file was damaged)`);
}

/**
 * Saves an index as three files, each written to a temp name first: the engine's own file
 * (`writeMain` writes it to the path it is given), the live labels, and a JSON sidecar with the
 * other two's checksums. The sidecar is renamed last, so its presence means the others are
 * complete.
 */
export function saveIndexFiles(
  path: string,
  writeMain: (tmp: string) => void,
  sidecar: object,
  labels: Iterable<number>,
): void {
  const [main, labelsFile, side] = [path, `${path}.labels`, `${path}.json`];
  writeMain(tempPath(main));
  writeFileSync(tempPath(labelsFile), Buffer.from(Float64Array.from(labels).buffer));
  const sha256: IndexDigests = {
    index: fileSha256(tempPath(main)),
    labels: fileSha256(tempPath(labelsFile)),
  };
  writeFileSync(tempPath(side), JSON.stringify({ ...sidecar, sha256 }));
  renameSync(tempPath(main), main);
  renameSync(tempPath(labelsFile), labelsFile);
  renameSync(tempPath(side), side);
}
