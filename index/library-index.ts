/**
 * The search index of one model in a library, kept as a cache of the database: the database is
 * the truth, the index file beside it is rebuilt or brought up to date whenever it is missing,
 * corrupt or stale. Saved with the index is the database's vector change count it reflects
 * (`Store.vectorSeq`, bumped by every vector write or delete of any process): catching up reads
 * exactly the rows written since, and a count or id-sum mismatch after that means deletions.
 * Only a process holding the library's writer lock saves (`lock`); others repair in memory.
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
  /**
   * Takes the library's writer lock for a save the index decides on itself (after a repair at
   * open, or at `persist`), returning its release, or null when another process holds it (the
   * save is skipped). Absent: such saves always happen (a caller that is the only writer).
   */
  readonly lock?: () => (() => void) | null;
  readonly log?: (msg: string) => void;
}

interface SyncState {
  modelId: string;
  dim: number;
  kind: string;
  images: number;
  idSum: number;
  /** The vector change count this index reflects (absent: saved by an older matsearch). */
  seq?: number;
  /** How many of those changes were deletes. */
  deletes?: number;
  /** [image id, width rank] of the indexed vectors narrower than full width (absent: unknown). */
  narrow?: [number, number][];
  /** usearch's stored scalar kind (absent: f32, or another engine). */
  scalar?: string;
}

/** A file-name-safe form of a model id. */
export function slug(modelId: string): string {
  return modelId.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class LibraryIndex {
  private index: VectorIndex;
  /** Every vector change up to this count is in the index (see Store.vectorSeq). */
  private seq: number;
  /** The database's count of vector deletes at `seq`: unchanged, no label can be stale. */
  private deletes: number;
  /** The index in memory differs from its files. */
  private dirty = false;
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
    at: { seq: number; deletes: number },
    narrow: Map<number, number>,
  ) {
    this.index = index;
    this.seq = at.seq;
    this.deletes = at.deletes;
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
        const scalar = opts.usearch?.quantization ?? 'f32';
        if (sync.kind !== 'exact' && sync.kind !== ann) {
          log(`index for ${modelId} is ${sync.kind}, the library now uses ${ann}: rebuilding it`);
          sync = null;
        } else if (sync.kind === 'usearch' && (sync.scalar ?? 'f32') !== scalar) {
          log(
            `index for ${modelId} stores ${sync.scalar ?? 'f32'}, the library now uses ${scalar}: rebuilding it`,
          );
          sync = null;
        } else if (typeof sync.seq !== 'number' || typeof sync.deletes !== 'number') {
          // Its fingerprint could not tell a reused id's stale vector from the right one.
          log(`index for ${modelId} was saved by an older matsearch; rebuilding it`);
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
        { seq: 0, deletes: 0 },
        new Map(),
      );
      return LibraryIndex.orClose(li, () => {
        li.rebuild();
        li.persist({ wait: true });
      });
    }
    // An index saved before widths were recorded: ask the database which images are narrow.
    const narrow = sync.narrow ? new Map(sync.narrow) : store.narrowImages(modelId);
    const at = { seq: sync.seq!, deletes: sync.deletes! };
    const li = new LibraryIndex(store, dir, modelId, dim, opts, index, at, narrow);
    return LibraryIndex.orClose(li, () => {
      li.catchUp({ verify: true });
      if (!sync.narrow) li.dirty = true; // so the next open need not scan the database again
      li.persist({ wait: true });
    });
  }

  /** `li` once `init` has run; if it throws (a full disk on the first save), `li` is closed. */
  private static orClose(li: LibraryIndex, init: () => void): LibraryIndex {
    try {
      init();
      return li;
    } catch (err) {
      li.close(); // its index may live in a worker thread
      throw err;
    }
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

  /** Rebuilds from every widest vector of the model in the database (in memory: see `save`). */
  rebuild(): void {
    const at = this.store.vectorChanges(); // first: what is written meanwhile is read again later
    const fp = this.store.modelFingerprint(this.modelId);
    const t0 = performance.now();
    this.index.close();
    this.index = this.newIndex(fp.images);
    this.idSum = 0;
    this.narrow.clear();
    for (const r of this.store.widestEmbeddings(this.modelId, this.dim))
      this.set(r.imageId, r.vector, r.width, r.widthRank);
    this.seq = at.seq;
    this.deletes = at.deletes;
    this.dirty = true;
    if (fp.images > 0)
      this.log(
        `built ${this.index.kind} index of ${this.index.size} vectors for ${this.modelId} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
  }

  /** Indexes `vector` as the image's vector (its widest, as the database says). */
  private set(imageId: number, vector: Float32Array, width: string, rank: number) {
    if (!this.index.has(imageId)) this.idSum += imageId;
    this.index.add(imageId, vector);
    if (width === '1') this.narrow.delete(imageId);
    else this.narrow.set(imageId, rank);
    this.dirty = true;
  }

  /**
   * Applies what the database gained or lost since the change count the index reflects (written
   * by any process); rebuilds if that fails. `verify` (at open) also compares count and id sum
   * when the count has not moved. Returns what changed, or null when nothing had.
   */
  catchUp(o: { verify?: boolean } = {}): { added: number; removed: number } | null {
    const at = this.store.vectorChanges(); // first, as in rebuild
    if (at.seq < this.seq) {
      this.log(`index for ${this.modelId} is newer than the database (restored?); rebuilding it`);
      this.rebuild();
      return { added: this.index.size, removed: 0 };
    }
    if (at.seq === this.seq && !o.verify) return null;
    let added = 0;
    // Every image with a vector written or deleted since: its widest vector now.
    for (const r of this.store.widestEmbeddings(this.modelId, this.dim, this.seq)) {
      this.set(r.imageId, r.vector, r.width, r.widthRank);
      added++;
    }
    let removed = 0;
    // Without deletes since, the index now holds exactly the database's images (ids are never
    // reused); with some, count and id sum tell whether labels must go (one scan).
    const check = o.verify || at.deletes !== this.deletes;
    const fp = check ? this.store.modelFingerprint(this.modelId) : null;
    if (fp && (this.index.size !== fp.images || this.idSum !== fp.idSum)) {
      // Images lost their vectors: drop the labels the database no longer has.
      const inDb = new Set<number>();
      for (const r of this.store.widestEmbeddings(this.modelId, this.dim)) {
        inDb.add(r.imageId);
        if (!this.index.has(r.imageId)) {
          this.set(r.imageId, r.vector, r.width, r.widthRank);
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
    if (at.seq !== this.seq) this.dirty = true;
    this.seq = at.seq;
    this.deletes = at.deletes;
    const now = added + removed > 0 && check ? this.store.modelFingerprint(this.modelId) : null;
    if (now && (this.index.size !== now.images || this.idSum !== now.idSum)) {
      this.log(`index for ${this.modelId} disagrees with the database after repair; rebuilding`);
      this.rebuild();
      return { added, removed };
    }
    if (added + removed === 0) return null;
    this.log(`index for ${this.modelId} was stale: added ${added}, removed ${removed}`);
    if (this.index.kind === 'exact' && this.index.size >= (this.opts.exactBelow ?? 5000))
      this.rebuild();
    return { added, removed };
  }

  /**
   * Mirrors a vector just written to the database, of width label `width` and width rank `rank`
   * (default: full width); one narrower than the image's indexed vector is not indexed.
   */
  add(imageId: number, vector: Float32Array, width = '1', rank = 1): void {
    // The index holds each image's widest vector: a narrower one written later does not replace it.
    const narrower =
      this.index.has(imageId) && width !== '1' && rank < (this.narrow.get(imageId) ?? 1);
    if (!narrower) this.set(imageId, vector, width, rank);
    if (this.index.kind === 'exact' && this.index.size >= (this.opts.exactBelow ?? 5000))
      this.rebuild();
  }

  remove(imageId: number): boolean {
    const had = this.index.remove(imageId);
    if (had) this.idSum -= imageId;
    this.narrow.delete(imageId);
    this.dirty = true;
    return had;
  }

  /**
   * Runs `write` (database writes of this model's vectors) in one transaction, then `mirror`
   * (the same changes applied to this index, given write's result). When nothing else changed
   * vectors since the index's change count, the count moves past this write, so saving the index
   * does not read these rows back; otherwise the next catch-up does.
   */
  mirror<T>(write: () => T, apply: (r: T) => void): T {
    let from = { seq: 0, deletes: 0 };
    let to = from;
    const r = this.store.transaction(() => {
      from = this.store.vectorChanges();
      const out = write();
      to = this.store.vectorChanges();
      return out;
    });
    apply(r);
    if (from.seq === this.seq) {
      this.seq = to.seq;
      this.deletes = to.deletes;
    }
    return r;
  }

  /**
   * Saves if the index changed since its files were written and the writer lock can be had
   * (`lock`); otherwise leaves the files as they are (the database is the truth). `wait`: save
   * now, even from a worker, so a failure (a full disk) reaches the caller: what open and close
   * need, where nothing is left to log a background failure to.
   */
  persist(o: { wait?: boolean } = {}): void {
    if (!this.dirty) return;
    const release = this.opts.lock ? this.opts.lock() : () => {};
    if (!release) return;
    try {
      if (o.wait) {
        this.catchUp();
        this.saveNow();
      } else this.save();
    } finally {
      release();
    }
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
   * `searchAsync` (unfiltered) and `fullVectors` of its hits together: with the index in a
   * worker, in one round trip (a server's search and rerank).
   */
  async searchWithVectors(
    query: Float32Array,
    k: number,
  ): Promise<{ hits: SearchHits; vectors: (Float32Array | undefined)[] }> {
    if (!(this.index instanceof WorkerIndex)) {
      const hits = this.index.search(query, k);
      return { hits, vectors: await this.fullVectors(hits.labels) };
    }
    const r = await this.index.searchWithVectorsAsync(query, k);
    return { hits: r.hits, vectors: this.fullOnly(r.hits.labels, r.vectors) };
  }

  /** Only the vectors that are full width (not a narrow vector awaiting its refine). */
  private fullOnly(
    labels: readonly number[],
    v: (Float32Array | undefined)[] | null,
  ): (Float32Array | undefined)[] {
    return labels.map((l, i) => (v && !this.narrow.has(l) ? v[i] : undefined));
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
    return this.fullOnly(labels, v);
  }

  /**
   * Writes the index and its change count (index first: a crash between leaves it stale, which
   * open() repairs), caught up first so the count is the database's. With the index in a worker
   * the write and its hashing happen there, in the background: a server's delete or upload does
   * not wait for (nor stall on) a rewrite of the whole index; the database is the truth
   * meanwhile. The caller holds the library's writer lock.
   */
  save(): void {
    this.catchUp();
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
    this.dirty = false;
  }

  /** The fingerprint of the index as it is in memory now. */
  private syncState(): SyncState {
    return {
      modelId: this.modelId,
      dim: this.dim,
      kind: this.index.kind,
      images: this.index.size,
      idSum: this.idSum,
      seq: this.seq,
      deletes: this.deletes,
      narrow: [...this.narrow],
      ...(this.index.kind === 'usearch'
        ? { scalar: this.opts.usearch?.quantization ?? 'f32' }
        : {}),
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
