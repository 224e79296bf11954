/**
 * Approximate cosine search with USearch's HNSW (Unum; the `usearch` npm package, prebuilt
 * N-API binary). Same contract as `HnswIndex`: labels are image ids, removal frees a slot that
 * the next insertion reuses, capacity grows by itself (usearch reserves the next power of two).
 *
 * usearch's JavaScript binding has no filtered search, no key listing and no way to change the
 * search expansion of a loaded index, so: a filter over-fetches and filters here; the live labels
 * are kept here and saved beside the index; the parameters live in a JSON sidecar and a load
 * builds the index with them before reading the file (the file itself carries dims, metric and
 * scalar kind, which are checked against the sidecar).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Index, ScalarKind } from 'usearch';
import { NotOpenError, ShapeError, ValidationError, WeightsFormatError } from '../src/errors.js';
import {
  normalized,
  saveIndexFiles,
  searchFiltered,
  verifyIndexFiles,
  type IndexDigests,
  type SearchHits,
  type VectorIndex,
} from './vector-index.js';

/**
 * How usearch stores each vector: f32 exact; f16 and i8 halve and quarter the memory; b1 keeps
 * one sign bit per dimension (1/32 of f32), compared by Hamming distance. The coarser the kind,
 * the more the exact rerank (which reads the float vectors from the database) has to correct.
 */
export type UsearchScalar = 'f32' | 'f16' | 'i8' | 'b1';

export interface UsearchParams {
  /** Graph degree (hnswlib's M; level 0 has twice as many links). */
  readonly connectivity: number;
  /** Candidate list while building (hnswlib's efConstruction). */
  readonly expansionAdd: number;
  /** Candidate list while searching (hnswlib's ef; usearch uses max(this, k)). */
  readonly expansionSearch: number;
  /** Stored scalar kind; queries are cast to it too. */
  readonly quantization: UsearchScalar;
}

/**
 * The hnswlib defaults (M 32, efConstruction 200, ef 400), so both engines build the same kind of
 * graph and the benchmark compares implementations, not settings. On 20k isotropic random 128-d
 * unit vectors they give recall@10 >= 0.99 (the test asks 0.98).
 */
export const USEARCH_DEFAULTS: UsearchParams = {
  connectivity: 32,
  expansionAdd: 200,
  expansionSearch: 400,
  quantization: 'f32',
};

const SCALAR_NAMES: readonly UsearchScalar[] = ['f32', 'f16', 'i8', 'b1'];

let binding: typeof import('usearch') | undefined;

/** The native binding, loaded on first use (as hnsw.ts does): small libraries never need it. */
function usearch(): typeof import('usearch') {
  return (binding ??= createRequire(import.meta.url)('usearch') as typeof import('usearch'));
}

function scalarKind(q: UsearchScalar): ScalarKind {
  const { ScalarKind: S } = usearch();
  return { f32: S.F32, f16: S.F16, i8: S.I8, b1: S.B1 }[q];
}

interface Sidecar {
  format: 'matsearch-usearch';
  version: 1;
  dim: number;
  params: UsearchParams;
  size: number;
  sha256?: IndexDigests;
}

/**
 * Vectors are stored unit-length, so cosine is the inner product, and usearch's `ip` kernels skip
 * the two norms `cos` computes per distance (about 15-20% faster here). i8 keeps `cos`: its `ip`
 * returns raw integer dot products, while its `cos` renormalises the quantised vectors. b1 takes
 * each float's sign as its bit and uses Hamming distance.
 */
function nativeIndex(dim: number, p: UsearchParams): Index {
  const { Index, MetricKind } = usearch();
  return new Index({
    dimensions: dim,
    metric:
      p.quantization === 'b1'
        ? MetricKind.Hamming
        : p.quantization === 'i8'
          ? MetricKind.Cos
          : MetricKind.IP,
    quantization: scalarKind(p.quantization),
    connectivity: p.connectivity,
    expansion_add: p.expansionAdd,
    expansion_search: p.expansionSearch,
    multi: false,
  });
}

function checkParams(dim: number, p: UsearchParams): void {
  if (!Number.isInteger(dim) || dim < 1)
    throw new ValidationError(`dim must be a positive integer, got ${dim}`);
  if (!SCALAR_NAMES.includes(p.quantization))
    throw new ValidationError(
      `quantization must be one of ${SCALAR_NAMES.join(', ')}, got ${p.quantization}`,
    );
  for (const [name, v] of Object.entries({
    connectivity: p.connectivity,
    expansionAdd: p.expansionAdd,
    expansionSearch: p.expansionSearch,
  })) {
    if (!Number.isInteger(v) || v < 2)
      throw new ValidationError(`${name} must be an integer of at least 2, got ${v}`);
  }
}

export class UsearchIndex implements VectorIndex {
  readonly kind = 'usearch';
  private index: Index | null;
  private live = new Set<number>();

  private constructor(
    readonly dim: number,
    readonly params: UsearchParams,
    index: Index,
  ) {
    this.index = index;
  }

  static create(dim: number, params: Partial<UsearchParams> = {}): UsearchIndex {
    const p = { ...USEARCH_DEFAULTS, ...params };
    checkParams(dim, p);
    return new UsearchIndex(dim, p, nativeIndex(dim, p));
  }

  /**
   * Loads a saved index: the usearch file, its JSON sidecar and the live labels. Throws
   * WeightsFormatError when any part is missing, unreadable or inconsistent; the caller rebuilds.
   */
  static load(path: string): UsearchIndex {
    const side = `${path}.json`;
    const labelsFile = `${path}.labels`;
    for (const f of [path, side, labelsFile]) {
      if (!existsSync(f)) throw new WeightsFormatError(`${f}: missing`);
    }
    let meta: Sidecar;
    try {
      meta = JSON.parse(readFileSync(side, 'utf8')) as Sidecar;
      if (meta.format !== 'matsearch-usearch') throw new Error(`format is ${meta.format}`);
      checkParams(meta.dim, meta.params);
    } catch (err) {
      throw new WeightsFormatError(`${side}: not a matsearch usearch sidecar`, { cause: err });
    }
    const raw = readFileSync(labelsFile);
    if (raw.length !== meta.size * 8) throw new WeightsFormatError(`${labelsFile}: truncated`);
    verifyIndexFiles(path, meta.sha256);
    const labels = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const index = nativeIndex(meta.dim, meta.params);
    try {
      index.load(path);
    } catch (err) {
      throw new WeightsFormatError(`${path}: corrupt usearch index`, { cause: err });
    }
    if (index.dimensions() !== meta.dim)
      throw new WeightsFormatError(`${path}: dimension disagrees with its sidecar`);
    if (index.size() !== meta.size)
      throw new WeightsFormatError(
        `${path}: holds ${index.size()} vectors, its sidecar lists ${meta.size}`,
      );
    const u = new UsearchIndex(meta.dim, meta.params, index);
    if (meta.size > 0) {
      const present = index.contains(BigUint64Array.from(labels, BigInt)) as boolean[];
      const missing = present.indexOf(false);
      if (missing >= 0)
        throw new WeightsFormatError(`${path}: label ${labels[missing]} of the sidecar is missing`);
    }
    for (const l of labels) u.live.add(l);
    return u;
  }

  private get idx(): Index {
    if (!this.index) throw new NotOpenError('the index is closed');
    return this.index;
  }

  get size(): number {
    return this.live.size;
  }

  add(label: number, vector: Float32Array): void {
    const idx = this.idx;
    if (vector.length !== this.dim)
      throw new ShapeError(`vector has ${vector.length} dims, the index holds ${this.dim}`);
    if (!Number.isSafeInteger(label) || label < 0)
      throw new ValidationError(`labels are non-negative integers, got ${label}`);
    const key = BigInt(label);
    // usearch refuses a duplicate key: replacing is remove, then add (which reuses the slot).
    if (this.live.has(label)) idx.remove(key);
    // Unit vectors in, so every scalar kind (i8 scales by 127) sees the same direction.
    idx.add(key, normalized(vector), 1);
    this.live.add(label);
  }

  remove(label: number): boolean {
    const idx = this.idx;
    if (!this.live.has(label)) return false;
    idx.remove(BigInt(label));
    this.live.delete(label);
    return true;
  }

  has(label: number): boolean {
    return this.idx && this.live.has(label);
  }

  labels(): number[] {
    return this.idx && [...this.live];
  }

  /** The k most similar live vectors; a filter over-fetches (usearch's binding has none). */
  search(query: Float32Array, k: number, filter?: (label: number) => boolean): SearchHits {
    const idx = this.idx;
    if (query.length !== this.dim)
      throw new ShapeError(`query has ${query.length} dims, the index holds ${this.dim}`);
    const n = this.live.size;
    if (Math.min(k, n) <= 0) return { labels: [], scores: [] };
    const q = normalized(query);
    const fetch = (want: number): SearchHits => {
      const m = idx.search(q, want, 1); // one thread: the caller owns the parallelism
      const labels = Array.from(m.keys, Number);
      // ip's and cos's distance is 1 - cos for unit vectors; for sign bits, h differing bits of
      // d estimate the angle as pi h / d (random-hyperplane hashing), so cos(pi h / d).
      const scores =
        this.params.quantization === 'b1'
          ? Array.from(m.distances, (h) => Math.cos((Math.PI * h) / this.dim))
          : Array.from(m.distances, (dist) => 1 - dist);
      return { labels, scores };
    };
    return filter ? searchFiltered(n, k, filter, fetch) : fetch(Math.min(k, n));
  }

  save(path: string): void {
    const idx = this.idx;
    const meta: Sidecar = {
      format: 'matsearch-usearch',
      version: 1,
      dim: this.dim,
      params: this.params,
      size: this.live.size,
    };
    saveIndexFiles(path, (tmp) => idx.save(tmp), meta, this.live);
  }

  /** Drops the native index (its memory goes with the next garbage collection: the binding has no free). */
  close(): void {
    this.index = null;
    this.live.clear();
  }
}
