/**
 * Approximate cosine search with hnswlib-node's HNSW graph (Malkov & Yashunin 2018).
 * Vectors are labelled by image id; deletions are marked and their slots reused; capacity grows
 * by doubling. hnswlib resets `ef` to 10 on load and stores neither the space nor the dimension,
 * so both live in a JSON sidecar written next to the graph and `ef` is restored after every load.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { HierarchicalNSW } from 'hnswlib-node';
import { NotOpenError, ShapeError, WeightsFormatError } from '../src/errors.js';
import {
  saveIndexFiles,
  verifyIndexFiles,
  type IndexDigests,
  type SearchHits,
  type VectorIndex,
} from './vector-index.js';

let binding: typeof import('hnswlib-node') | undefined;

/**
 * The native binding, loaded (synchronously, like every index call) on first use: a library
 * below the exact-scan threshold, such as a one-off search of a small one, never pays for it.
 */
function hnswlib(): typeof import('hnswlib-node') {
  return (binding ??= createRequire(import.meta.url)(
    'hnswlib-node',
  ) as typeof import('hnswlib-node'));
}

export interface HnswParams {
  /** Graph degree (links per node; level 0 has 2M). hnswlib's advice: 12-48. */
  readonly M: number;
  /** Candidate list while building; higher = better graph, slower build. */
  readonly efConstruction: number;
  /** Candidate list while searching (>= k); the recall/speed dial. */
  readonly ef: number;
}

/**
 * Defaults chosen on the hardest case we test, 20k isotropic random 128-d unit vectors (real
 * embeddings cluster and are easier): M 16 reached recall@10 0.947 at ef 400, M 32 reached 0.994
 * at ef 400 (1.0 ms/query) and 0.999 at ef 800, for a 1.3x longer build.
 */
export const HNSW_DEFAULTS: HnswParams = { M: 32, efConstruction: 200, ef: 400 };

interface Sidecar {
  format: 'matsearch-hnsw';
  version: 1;
  dim: number;
  params: HnswParams;
  capacity: number;
  size: number;
  sha256?: IndexDigests;
}

export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw';
  private index: HierarchicalNSW | null;
  private capacity: number;
  private live = new Set<number>();
  /** Labels we marked deleted (some may since have been replaced in their slot). */
  private deleted = new Set<number>();

  private constructor(
    readonly dim: number,
    readonly params: HnswParams,
    index: HierarchicalNSW,
    capacity: number,
  ) {
    this.index = index;
    this.capacity = capacity;
    index.setEf(params.ef);
  }

  static create(
    dim: number,
    params: Partial<HnswParams> = {},
    capacity = 1024,
    seed = 100,
  ): HnswIndex {
    const p = { ...HNSW_DEFAULTS, ...params };
    const index = new (hnswlib().HierarchicalNSW)('cosine', dim);
    index.initIndex({
      maxElements: capacity,
      m: p.M,
      efConstruction: p.efConstruction,
      randomSeed: seed,
      allowReplaceDeleted: true,
    });
    return new HnswIndex(dim, p, index, capacity);
  }

  /**
   * Loads a saved index: the graph, its JSON sidecar and the live labels (hnswlib keeps deleted
   * labels in its id list, so the live set is saved beside it). Throws WeightsFormatError when
   * any part is missing, unreadable or inconsistent; the caller rebuilds from the database.
   */
  static load(path: string): HnswIndex {
    const side = `${path}.json`;
    const labelsFile = `${path}.labels`;
    for (const f of [path, side, labelsFile]) {
      if (!existsSync(f)) throw new WeightsFormatError(`${f}: missing`);
    }
    let meta: Sidecar;
    try {
      meta = JSON.parse(readFileSync(side, 'utf8')) as Sidecar;
    } catch (err) {
      throw new WeightsFormatError(`${side}: unreadable`, { cause: err });
    }
    if (meta.format !== 'matsearch-hnsw' || !Number.isInteger(meta.dim)) {
      throw new WeightsFormatError(`${side}: not a matsearch HNSW sidecar`);
    }
    const raw = readFileSync(labelsFile);
    if (raw.length !== meta.size * 8) throw new WeightsFormatError(`${labelsFile}: truncated`);
    verifyIndexFiles(path, meta.sha256);
    const live = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const index = new (hnswlib().HierarchicalNSW)('cosine', meta.dim);
    try {
      index.readIndexSync(path, true);
    } catch (err) {
      throw new WeightsFormatError(`${path}: corrupt HNSW index`, { cause: err });
    }
    if (index.getNumDimensions() !== meta.dim) {
      throw new WeightsFormatError(`${path}: dimension disagrees with its sidecar`);
    }
    const h = new HnswIndex(meta.dim, meta.params, index, index.getMaxElements());
    const all = new Set(index.getIdsList());
    for (const l of live) {
      if (!all.has(l))
        throw new WeightsFormatError(`${path}: label ${l} of the sidecar is not in the graph`);
      h.live.add(l);
    }
    for (const l of all) if (!h.live.has(l)) h.deleted.add(l);
    return h;
  }

  private get idx(): HierarchicalNSW {
    if (!this.index) throw new NotOpenError('the index is closed');
    return this.index;
  }

  get size(): number {
    return this.live.size;
  }

  add(label: number, vector: Float32Array): void {
    const idx = this.idx;
    if (vector.length !== this.dim) {
      throw new ShapeError(`vector has ${vector.length} dims, the index holds ${this.dim}`);
    }
    const point = Array.from(vector); // hnswlib-node takes plain arrays only
    if (this.live.has(label)) {
      idx.addPoint(point, label); // an existing label: hnswlib updates it in place
      return;
    }
    if (this.deleted.has(label)) {
      this.deleted.delete(label);
      try {
        idx.unmarkDelete(label); // bring the label back, then update its vector
        idx.addPoint(point, label);
        this.live.add(label);
        return;
      } catch {
        // its slot was reused by another label meanwhile: add it as new below
      }
    }
    if (idx.getCurrentCount() > this.live.size) {
      idx.addPoint(point, label, true); // reuse some deleted slot (hnswlib picks which)
    } else {
      if (idx.getCurrentCount() >= this.capacity) this.grow();
      idx.addPoint(point, label);
    }
    this.live.add(label);
  }

  private grow() {
    this.capacity = Math.max(1024, this.capacity * 2);
    this.idx.resizeIndex(this.capacity);
  }

  remove(label: number): boolean {
    if (!this.live.has(label)) return false;
    this.idx.markDelete(label);
    this.live.delete(label);
    this.deleted.add(label);
    return true;
  }

  has(label: number): boolean {
    return this.idx && this.live.has(label);
  }

  labels(): number[] {
    return this.idx && [...this.live];
  }

  /** hnswlib's cosine space stores each vector normalised: these are the unit vectors. */
  vectors(labels: readonly number[]): (Float32Array | undefined)[] {
    const idx = this.idx;
    return labels.map((l) => (this.live.has(l) ? Float32Array.from(idx.getPoint(l)) : undefined));
  }

  setEf(ef: number): void {
    this.idx.setEf(ef);
  }

  search(query: Float32Array, k: number, filter?: (label: number) => boolean): SearchHits {
    const idx = this.idx;
    if (query.length !== this.dim)
      throw new ShapeError(`query has ${query.length} dims, the index holds ${this.dim}`);
    const kk = Math.min(k, this.live.size);
    if (kk === 0) return { labels: [], scores: [] };
    const r = filter
      ? idx.searchKnn(Array.from(query), kk, filter)
      : idx.searchKnn(Array.from(query), kk);
    // hnswlib's cosine distance is 1 - cos
    return { labels: r.neighbors, scores: r.distances.map((d) => 1 - d) };
  }

  save(path: string): void {
    const idx = this.idx;
    const meta: Sidecar = {
      format: 'matsearch-hnsw',
      version: 1,
      dim: this.dim,
      params: this.params,
      capacity: this.capacity,
      size: this.live.size,
    };
    saveIndexFiles(path, (tmp) => idx.writeIndexSync(tmp), meta, this.live);
  }

  close(): void {
    this.index = null;
    this.live.clear();
    this.deleted.clear();
  }
}
