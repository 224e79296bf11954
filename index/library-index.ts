/**
 * The search index of one model in a library, kept as a cache of the database: the database is
 * the truth, the index file beside it is rebuilt or brought up to date whenever it is missing,
 * corrupt or stale. A fingerprint (vector count, sum of image ids, latest write) saved with the
 * index tells at open whether anything changed behind its back.
 *
 * Each image contributes its widest vector (full width once refined): every width shares one
 * embedding space, so a library half-refined from 1/8 to full width stays searchable.
 * Below `exactBelow` vectors an exact scan is used (faster and exact); above, HNSW.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MatsearchError } from '../src/errors.js';
import type { Store } from '../src/store/store.js';
import { BruteForceIndex } from './brute-force.js';
import { HnswIndex, type HnswParams } from './hnsw.js';
import type { SearchHits, VectorIndex } from './vector-index.js';

export interface LibraryIndexOptions {
  /** Use exact search while the model has fewer vectors than this. */
  readonly exactBelow?: number;
  readonly hnsw?: Partial<HnswParams>;
  readonly log?: (msg: string) => void;
}

interface SyncState {
  modelId: string;
  dim: number;
  kind: string;
  images: number;
  idSum: number;
  maxCreatedAt: number;
}

/** A file-name-safe form of a model id. */
export function slug(modelId: string): string {
  return modelId.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class LibraryIndex {
  private index: VectorIndex;
  private maxCreatedAt: number;
  private idSum = 0;
  private readonly log: (msg: string) => void;

  private constructor(
    private readonly store: Store,
    private readonly dir: string,
    readonly modelId: string,
    readonly dim: number,
    private readonly opts: LibraryIndexOptions,
    index: VectorIndex,
    maxCreatedAt: number,
  ) {
    this.index = index;
    this.maxCreatedAt = maxCreatedAt;
    this.log = opts.log ?? ((m) => process.stderr.write(m + '\n'));
    for (const l of index.labels()) this.idSum += l;
  }

  private static files(dir: string, modelId: string) {
    const base = join(dir, slug(modelId));
    return { hnsw: `${base}.hnsw`, exact: `${base}.exact`, sync: `${base}.sync.json` };
  }

  /** Opens the model's index, loading, repairing or building it as needed. */
  static open(
    store: Store,
    dir: string,
    modelId: string,
    dim: number,
    opts: LibraryIndexOptions = {},
  ): LibraryIndex {
    mkdirSync(dir, { recursive: true });
    const log = opts.log ?? ((m: string) => process.stderr.write(m + '\n'));
    const f = LibraryIndex.files(dir, modelId);
    let sync: SyncState | null = null;
    let index: VectorIndex | null = null;
    try {
      if (existsSync(f.sync)) {
        sync = JSON.parse(readFileSync(f.sync, 'utf8')) as SyncState;
        if (sync.modelId !== modelId || sync.dim !== dim)
          throw new MatsearchError('E_INDEX', 'index belongs to another model');
        index = sync.kind === 'hnsw' ? HnswIndex.load(f.hnsw) : BruteForceIndex.load(f.exact);
        if (index.dim !== dim)
          throw new MatsearchError('E_INDEX', `index has ${index.dim} dims, model makes ${dim}`);
      }
    } catch (err) {
      log(
        `index for ${modelId} is unreadable (${(err as Error).message}); rebuilding it from the database`,
      );
      index?.close();
      index = null;
      sync = null;
    }
    if (!index || !sync) {
      const li = new LibraryIndex(store, dir, modelId, dim, opts, new BruteForceIndex(dim), 0);
      li.rebuild();
      return li;
    }
    const li = new LibraryIndex(store, dir, modelId, dim, opts, index, sync.maxCreatedAt);
    li.catchUp();
    return li;
  }

  get kind(): string {
    return this.index.kind;
  }

  get size(): number {
    return this.index.size;
  }

  private newIndex(n: number): VectorIndex {
    const exactBelow = this.opts.exactBelow ?? 5000;
    return n < exactBelow
      ? new BruteForceIndex(this.dim, Math.max(1024, n))
      : HnswIndex.create(this.dim, this.opts.hnsw ?? {}, Math.max(1024, n));
  }

  /** Rebuilds from every widest vector of the model in the database, then saves. */
  rebuild(): void {
    const fp = this.store.modelFingerprint(this.modelId);
    const t0 = performance.now();
    this.index.close();
    this.index = this.newIndex(fp.images);
    this.idSum = 0;
    this.maxCreatedAt = 0;
    for (const r of this.store.widestEmbeddings(this.modelId, this.dim))
      this.put(r.imageId, r.vector, r.createdAt);
    if (fp.images > 0)
      this.log(
        `built ${this.index.kind} index of ${this.index.size} vectors for ${this.modelId} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    this.save();
  }

  private put(imageId: number, vector: Float32Array, createdAt: number) {
    if (!this.index.has(imageId)) this.idSum += imageId;
    this.index.add(imageId, vector);
    this.maxCreatedAt = Math.max(this.maxCreatedAt, createdAt);
  }

  /** Applies what the database gained or lost since the index was saved; rebuilds if that fails. */
  catchUp(): void {
    const fp = this.store.modelFingerprint(this.modelId);
    if (
      fp.images === this.index.size &&
      fp.idSum === this.idSum &&
      fp.maxCreatedAt <= this.maxCreatedAt
    )
      return;
    let added = 0;
    for (const r of this.store.widestEmbeddings(this.modelId, this.dim, this.maxCreatedAt)) {
      this.put(r.imageId, r.vector, r.createdAt);
      added++;
    }
    let removed = 0;
    if (this.index.size !== fp.images || this.idSum !== fp.idSum) {
      // Vectors were deleted (or written out of order): compare the id sets.
      const inDb = new Set<number>();
      for (const r of this.store.widestEmbeddings(this.modelId, this.dim)) {
        inDb.add(r.imageId);
        if (!this.index.has(r.imageId)) {
          this.put(r.imageId, r.vector, r.createdAt);
          added++;
        }
      }
      for (const l of this.index.labels()) {
        if (!inDb.has(l)) {
          this.remove(l);
          removed++;
        }
      }
    }
    const now = this.store.modelFingerprint(this.modelId);
    if (this.index.size !== now.images || this.idSum !== now.idSum) {
      this.log(`index for ${this.modelId} disagrees with the database after repair; rebuilding`);
      this.rebuild();
      return;
    }
    this.log(`index for ${this.modelId} was stale: added ${added}, removed ${removed}`);
    if (this.index.kind === 'exact' && this.index.size >= (this.opts.exactBelow ?? 5000))
      this.rebuild();
    else this.save();
  }

  /** Mirrors a vector just written to the database. */
  add(imageId: number, vector: Float32Array): void {
    this.put(imageId, vector, Date.now());
    if (this.index.kind === 'exact' && this.index.size >= (this.opts.exactBelow ?? 5000))
      this.rebuild();
  }

  remove(imageId: number): boolean {
    const had = this.index.remove(imageId);
    if (had) this.idSum -= imageId;
    return had;
  }

  has(imageId: number): boolean {
    return this.index.has(imageId);
  }

  search(query: Float32Array, k: number, filter?: (label: number) => boolean): SearchHits {
    return this.index.search(query, k, filter);
  }

  /** Writes the index and its fingerprint (index first: a crash between leaves it stale, which open() repairs). */
  save(): void {
    const f = LibraryIndex.files(this.dir, this.modelId);
    const file = this.index.kind === 'hnsw' ? f.hnsw : f.exact;
    this.index.save(file);
    const sync: SyncState = {
      modelId: this.modelId,
      dim: this.dim,
      kind: this.index.kind,
      images: this.index.size,
      idSum: this.idSum,
      maxCreatedAt: this.maxCreatedAt,
    };
    writeFileSync(`${f.sync}.tmp`, JSON.stringify(sync));
    renameSync(`${f.sync}.tmp`, f.sync);
    rmSync(this.index.kind === 'hnsw' ? f.exact : f.hnsw, { force: true });
  }

  close(): void {
    this.index.close();
  }
}
