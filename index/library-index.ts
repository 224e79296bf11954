/**
 * The search index of one model in a library, kept as a cache of the database: the database is
 * the truth, the index file beside it is rebuilt or brought up to date whenever it is missing,
 * corrupt or stale. A fingerprint (vector count, sum of image ids, latest write) saved with the
 * index tells at open whether anything changed behind its back.
 *
 * Each image contributes its widest vector (full width once refined): every width shares one
 * embedding space, so a library half-refined from 1/8 to full width stays searchable.
 * Below `exactBelow` vectors an exact scan is used (faster and exact); above, HNSW from the chosen
 * engine (hnswlib by default, or usearch). With `thread: 'worker'` the index lives in a worker
 * thread (`WorkerIndex`) and `searchAsync` leaves the event loop free; the bookkeeping here is the
 * same either way, except that `save` then writes in the background (`close` waits for it).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MatsearchError, ValidationError } from '../src/errors.js';
import type { Store } from '../src/store/store.js';
import { BruteForceIndex } from './brute-force.js';
import {
  ANN_ENGINES,
  createIndex,
  INDEX_KINDS,
  indexFiles,
  isIndexKind,
  loadIndex,
  type AnnEngine,
  type IndexKind,
  type IndexSpec,
} from './engines.js';
import type { HnswParams } from './hnsw.js';
import { WorkerIndex } from './index-worker.js';
import type { UsearchParams } from './usearch.js';
import { sweepIndexTemps, tempPath, type SearchHits, type VectorIndex } from './vector-index.js';

export interface LibraryIndexOptions {
  /** Use exact search while the model has fewer vectors than this (default 5000). */
  readonly exactBelow?: number;
  /** The approximate engine above `exactBelow` (default 'hnswlib'; see docs/bench/search.md). */
  readonly engine?: AnnEngine;
  readonly hnsw?: Partial<HnswParams>;
  readonly usearch?: Partial<UsearchParams>;
  /**
   * Where the index lives: 'main' (default) in-process, every call synchronous, the fastest for a
   * one-shot command; 'worker' in a worker thread, so `searchAsync` never blocks the event loop
   * (a server). Writes, saves and the synchronous `search` work in both.
   */
  readonly thread?: 'main' | 'worker';
  readonly log?: (msg: string) => void;
}

interface SyncState {
  modelId: string;
  dim: number;
  kind: string;
  images: number;
  idSum: number;
  maxCreatedAt: number;
  /** [image id, width rank] of the indexed vectors narrower than full width (absent: unknown). */
  narrow?: [number, number][];
}

/** A file-name-safe form of a model id. */
export function slug(modelId: string): string {
  return modelId.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class LibraryIndex {
  private index: VectorIndex;
  private maxCreatedAt: number;
  private idSum = 0;
  /** Width rank of every indexed vector narrower than full width (full-width ones are absent). */
  private narrow: Map<number, number>;
  private readonly log: (msg: string) => void;
  /** Background saves (in a worker): the last one queued, and whether one is still to finish. */
  private saving: Promise<void> = Promise.resolve();
  private saveGen = 0;
  private savesPending = 0;

  private constructor(
    private readonly store: Store,
    private readonly dir: string,
    readonly modelId: string,
    readonly dim: number,
    private readonly opts: LibraryIndexOptions,
    index: VectorIndex,
    maxCreatedAt: number,
    narrow: Map<number, number>,
  ) {
    this.index = index;
    this.maxCreatedAt = maxCreatedAt;
    this.narrow = narrow;
    this.log = opts.log ?? ((m) => process.stderr.write(m + '\n'));
    for (const l of index.labels()) this.idSum += l;
  }

  private static files(dir: string, modelId: string) {
    const base = join(dir, slug(modelId));
    return { index: (kind: IndexKind) => `${base}.${kind}`, sync: `${base}.sync.json` };
  }

  private static load(opts: LibraryIndexOptions, kind: IndexKind, path: string): VectorIndex {
    return opts.thread === 'worker' ? WorkerIndex.load(kind, path) : loadIndex(kind, path);
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
    sweepIndexTemps(dir); // left by a writer killed mid-save
    const f = LibraryIndex.files(dir, modelId);
    const engine = opts.engine ?? 'hnswlib';
    if (!Object.hasOwn(ANN_ENGINES, engine))
      throw new ValidationError(`engine must be one of ${Object.keys(ANN_ENGINES)}, got ${engine}`);
    const ann = ANN_ENGINES[engine];
    let sync: SyncState | null = null;
    let index: VectorIndex | null = null;
    try {
      if (existsSync(f.sync)) {
        sync = JSON.parse(readFileSync(f.sync, 'utf8')) as SyncState;
        if (sync.modelId !== modelId || sync.dim !== dim)
          throw new MatsearchError('E_INDEX', 'index belongs to another model');
        if (!isIndexKind(sync.kind))
          throw new MatsearchError('E_INDEX', `unknown index kind ${String(sync.kind)}`);
        if (sync.kind !== 'exact' && sync.kind !== ann) {
          log(`index for ${modelId} is ${sync.kind}, the library now uses ${ann}: rebuilding it`);
          sync = null;
        } else {
          index = LibraryIndex.load(opts, sync.kind, f.index(sync.kind));
          if (index.dim !== dim)
            throw new MatsearchError('E_INDEX', `index has ${index.dim} dims, model makes ${dim}`);
        }
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
      if (!existsSync(f.sync) && store.modelFingerprint(modelId).images > 0)
        log(`index for ${modelId} is missing; rebuilding it from the database`);
      const li = new LibraryIndex(
        store,
        dir,
        modelId,
        dim,
        opts,
        new BruteForceIndex(dim),
        0,
        new Map(),
      );
      li.rebuild();
      return li;
    }
    // An index saved before widths were recorded: ask the database which images are narrow.
    const narrow = sync.narrow ? new Map(sync.narrow) : store.narrowImages(modelId);
    const li = new LibraryIndex(store, dir, modelId, dim, opts, index, sync.maxCreatedAt, narrow);
    li.catchUp();
    if (!sync.narrow) li.writeSync(li.syncState()); // so the next open need not scan the database again
    return li;
  }

  get kind(): string {
    return this.index.kind;
  }

  get size(): number {
    return this.index.size;
  }

  /** Whether searches run in a worker thread (`thread: 'worker'`). */
  get inWorker(): boolean {
    return this.index instanceof WorkerIndex;
  }

  private newIndex(n: number): VectorIndex {
    const exactBelow = this.opts.exactBelow ?? 5000;
    const spec: IndexSpec = {
      kind: n < exactBelow ? 'exact' : ANN_ENGINES[this.opts.engine ?? 'hnswlib'],
      dim: this.dim,
      capacity: n,
      hnsw: this.opts.hnsw,
      usearch: this.opts.usearch,
    };
    return this.opts.thread === 'worker' ? WorkerIndex.create(spec) : createIndex(spec);
  }

  /** Rebuilds from every widest vector of the model in the database, then saves. */
  rebuild(): void {
    const fp = this.store.modelFingerprint(this.modelId);
    const t0 = performance.now();
    this.index.close();
    this.index = this.newIndex(fp.images);
    this.idSum = 0;
    this.maxCreatedAt = 0;
    this.narrow.clear();
    for (const r of this.store.widestEmbeddings(this.modelId, this.dim))
      this.put(r.imageId, r.vector, r.createdAt, r.width, r.widthRank);
    if (fp.images > 0)
      this.log(
        `built ${this.index.kind} index of ${this.index.size} vectors for ${this.modelId} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    this.save();
  }

  private put(
    imageId: number,
    vector: Float32Array,
    createdAt: number,
    width: string,
    rank: number,
  ) {
    this.maxCreatedAt = Math.max(this.maxCreatedAt, createdAt);
    if (this.index.has(imageId)) {
      // The index holds each image's widest vector: a narrower one written later does not replace it.
      if (width !== '1' && rank < (this.narrow.get(imageId) ?? 1)) return;
    } else this.idSum += imageId;
    this.index.add(imageId, vector);
    if (width === '1') this.narrow.delete(imageId);
    else this.narrow.set(imageId, rank);
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
      this.put(r.imageId, r.vector, r.createdAt, r.width, r.widthRank);
      added++;
    }
    let removed = 0;
    if (this.index.size !== fp.images || this.idSum !== fp.idSum) {
      // Vectors were deleted (or written out of order): compare the id sets.
      const inDb = new Set<number>();
      for (const r of this.store.widestEmbeddings(this.modelId, this.dim)) {
        inDb.add(r.imageId);
        if (!this.index.has(r.imageId)) {
          this.put(r.imageId, r.vector, r.createdAt, r.width, r.widthRank);
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

  /**
   * Mirrors a vector just written to the database, of width label `width` and width rank `rank`
   * (default: full width); one narrower than the image's indexed vector is not indexed.
   */
  add(imageId: number, vector: Float32Array, width = '1', rank = 1): void {
    this.put(imageId, vector, Date.now(), width, rank);
    if (this.index.kind === 'exact' && this.index.size >= (this.opts.exactBelow ?? 5000))
      this.rebuild();
  }

  remove(imageId: number): boolean {
    const had = this.index.remove(imageId);
    if (had) this.idSum -= imageId;
    this.narrow.delete(imageId);
    return had;
  }

  has(imageId: number): boolean {
    return this.index.has(imageId);
  }

  /** Synchronous search (in a worker, it blocks until the worker answers). */
  search(query: Float32Array, k: number, filter?: (label: number) => boolean): SearchHits {
    return this.index.search(query, k, filter);
  }

  /**
   * The search a server awaits: in a worker it runs there and the event loop stays free;
   * in-process it is the synchronous search, already settled.
   */
  async searchAsync(
    query: Float32Array,
    k: number,
    filter?: (label: number) => boolean,
  ): Promise<SearchHits> {
    return this.index instanceof WorkerIndex
      ? this.index.searchAsync(query, k, filter)
      : this.index.search(query, k, filter);
  }

  /**
   * Per label, its stored full-width unit vector when the index holds one in memory; undefined
   * when the engine keeps no exact copy (usearch) or the image has no full-width vector yet. The
   * rerank reads these instead of the database (from the worker in one round trip).
   */
  async fullVectors(labels: readonly number[]): Promise<(Float32Array | undefined)[]> {
    const v =
      this.index instanceof WorkerIndex
        ? await this.index.vectorsAsync(labels)
        : (this.index.vectors?.(labels) ?? null);
    return labels.map((l, i) => (v && !this.narrow.has(l) ? v[i] : undefined));
  }

  /**
   * Writes the index and its fingerprint (index first: a crash between leaves it stale, which
   * open() repairs). With the index in a worker the write and its hashing happen there, in the
   * background: a server's delete or upload does not wait for (nor stall on) a rewrite of the
   * whole index; the database is the truth meanwhile.
   */
  save(): void {
    if (this.index instanceof WorkerIndex) {
      this.saveInBackground(this.index);
      return;
    }
    this.saveNow();
  }

  /** Saves now, waiting for it (what `close` does). */
  saveNow(): void {
    this.saveGen++; // a background save finishing later must not write its older fingerprint
    const f = LibraryIndex.files(this.dir, this.modelId);
    const kind = this.index.kind as IndexKind;
    this.index.save(f.index(kind));
    this.writeSync(this.syncState());
    this.dropOtherKinds(kind);
  }

  /** Settles once the background saves queued so far have finished (or failed, logged). */
  flushSaves(): Promise<void> {
    return this.saving;
  }

  private saveInBackground(index: WorkerIndex): void {
    const f = LibraryIndex.files(this.dir, this.modelId);
    const kind = index.kind as IndexKind;
    const gen = ++this.saveGen;
    const state = this.syncState(); // the index as the worker will write it
    const written = index.saveAsync(f.index(kind));
    this.savesPending++;
    this.saving = this.saving
      .then(() => written)
      .then(
        () => {
          if (gen !== this.saveGen) return; // a later save supersedes this one
          this.writeSync(state);
          this.dropOtherKinds(kind);
        },
        (err: unknown) => {
          // The next save (or the next open's repair) brings the file up to date.
          if (gen === this.saveGen) this.log(`index save failed: ${(err as Error).message}`);
        },
      )
      .finally(() => this.savesPending--);
  }

  private dropOtherKinds(kind: IndexKind): void {
    const f = LibraryIndex.files(this.dir, this.modelId);
    for (const other of INDEX_KINDS)
      if (other !== kind)
        for (const p of indexFiles(other, f.index(other))) rmSync(p, { force: true });
  }

  /** The fingerprint of the index as it is in memory now. */
  private syncState(): SyncState {
    return {
      modelId: this.modelId,
      dim: this.dim,
      kind: this.index.kind,
      images: this.index.size,
      idSum: this.idSum,
      maxCreatedAt: this.maxCreatedAt,
      narrow: [...this.narrow],
    };
  }

  /** Writes a fingerprint (of the index file just written). */
  private writeSync(sync: SyncState): void {
    const f = LibraryIndex.files(this.dir, this.modelId);
    writeFileSync(tempPath(f.sync), JSON.stringify(sync));
    renameSync(tempPath(f.sync), f.sync);
  }

  /** Closes the index; a background save still running is redone here, synchronously. */
  close(): void {
    if (this.savesPending > 0) this.saveNow();
    this.index.close();
  }
}
