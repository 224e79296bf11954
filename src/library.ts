/**
 * A library: one folder holding the database, the index files and the thumbnails. This is the
 * typed API the CLI and the server are thin layers over.
 *
 *   const lib = await openLibrary('./matsearch-data', { embedder });
 *   await lib.ingest(['~/Pictures']);
 *   const { results } = await lib.searchFile('query.jpg', { width: '1/4', k: 10 });
 *   lib.close();
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { realpathSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Embedder } from './embed/embedder.js';
import { Store, type DeadLetterRow } from './store/store.js';
import { LibraryIndex, type LibraryIndexOptions } from '../index/library-index.js';
import { parseCoarse } from '../index/engines.js';
import { Searcher, type SearchOptions, type SearchResponse } from './search/searcher.js';
import type { IngestOptions, IngestSummary } from '../ingest/pipeline.js';
import { findThumbnail, thumbnailPaths } from '../ingest/thumbs.js';
import { acquireLock, LockedError } from '../ingest/lock.js';
import { decodeInput } from '../ingest/decode.js';
import {
  checkCanClassify,
  classifyInputs,
  type Classification,
  type ClassifyOptions,
} from './classify/classify.js';
import { queryDecodeOptions } from './embed/input-options.js';
import { ModelMismatchError, NotOpenError } from './errors.js';

/** Where a library records its coarse index choice (database meta). */
const COARSE_META = 'index.coarse';

export interface LibraryOptions {
  readonly embedder: Embedder;
  readonly index?: LibraryIndexOptions;
  /**
   * Never rewrite the index files (search, stats): a stale index is repaired in memory only.
   * Writes (ingest, remove, refine, reindex) still work and save under the writer lock.
   */
  readonly readOnly?: boolean;
  readonly log?: (msg: string) => void;
}

export interface LibraryStats {
  readonly images: number;
  readonly failures: number;
  readonly vectors: { modelId: string; width: string; count: number }[];
  readonly index: { kind: string; size: number };
  readonly modelId: string;
  /** Images whose vectors belong to another model only (need re-embedding). */
  readonly otherModelOnly: number;
  /**
   * The dead-letter list of queued ingests (queue/): files whose job failed on every try, most
   * recent first (at most 20 here), with their errors; each leaves once ingested successfully.
   */
  readonly deadLetters: { count: number; recent: DeadLetterRow[] };
}

export class Library {
  private open_ = true;
  readonly searcher: Searcher;

  private constructor(
    readonly dir: string,
    readonly store: Store,
    readonly index: LibraryIndex,
    readonly embedder: Embedder,
    private readonly log: (msg: string) => void,
  ) {
    this.searcher = new Searcher(store, index, embedder);
  }

  static open(dir: string, o: LibraryOptions): Library {
    const root = resolve(dir);
    const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
    const store = Store.open(join(root, 'matsearch.db'));
    // The index saves itself (after a repair, at close) only with the writer lock: a process
    // saving while another writes could pair one's index file with the other's change count.
    const lockPath = join(root, 'write.lock');
    const lock = o.readOnly
      ? () => null
      : () => {
          try {
            return acquireLock(lockPath, 'saving the index');
          } catch (err) {
            if (err instanceof LockedError) return null; // the writer saves when it is done
            throw err;
          }
        };
    let index: LibraryIndex | undefined;
    let lib: Library;
    let other: number;
    try {
      store.interruptStaleJobs();
      // The library's own coarse-stage choice (set by `reindex --coarse`), unless the caller
      // names an engine.
      const coarse = store.getMeta(COARSE_META);
      index = LibraryIndex.open(store, join(root, 'index'), o.embedder.modelId, o.embedder.dim, {
        ...(coarse && !o.index?.engine ? parseCoarse(coarse) : {}),
        ...o.index,
        lock,
        log,
      });
      lib = new Library(root, store, index, o.embedder, log);
      other = lib.stats().otherModelOnly;
    } catch (err) {
      // Whatever failed, leave nothing open: a handle (or an index worker) left behind would keep
      // the process alive after the command has reported the error.
      index?.close();
      store.close();
      throw err;
    }
    if (other > 0) {
      log(
        `${other} image(s) have vectors of another model only and are not searchable with ${o.embedder.modelId}; run 'matsearch ingest' again to re-embed them`,
      );
    }
    return lib;
  }

  get thumbsDir(): string {
    return join(this.dir, 'thumbs');
  }

  private check() {
    if (!this.open_) throw new NotOpenError('the library is closed');
  }

  /** Adds, updates (and with `prune`, removes) the images under `roots`. One writer at a time. */
  async ingest(roots: readonly string[], o: IngestOptions = {}): Promise<IngestSummary> {
    this.check();
    // Imported here: the walk and the writer are no part of a search's start-up.
    const { ingest } = await import('../ingest/pipeline.js');
    const release = acquireLock(join(this.dir, 'write.lock'), 'ingesting');
    try {
      return await ingest(
        {
          store: this.store,
          index: this.index,
          embedder: this.embedder,
          thumbsDir: this.thumbsDir,
          log: this.log,
        },
        roots,
        // Never the library's own folder: its thumbnails would come back as new images.
        { ...o, walk: { ...o.walk, skip: [...(o.walk?.skip ?? []), realpathSync(this.dir)] } },
      );
    } finally {
      release();
    }
  }

  /** Searches with an image file (decoded like an ingested one). */
  async searchFile(path: string, o: SearchOptions = {}): Promise<SearchResponse> {
    return this.searchBytes(await readFile(path), o);
  }

  async searchBytes(bytes: Buffer, o: SearchOptions = {}): Promise<SearchResponse> {
    this.check();
    this.checkModel();
    // The file's hash names the query for the vector cache: the same bytes decode to the same
    // input here (a hash of a 5 KB upload, not of its 0.6 MB input at 224 px).
    const key = `file:${createHash('sha256').update(bytes).digest('hex')}`;
    return this.searcher.search(await decodeInput(bytes, this.inputOptions()), o, key);
  }

  /**
   * Refuses a search that cannot find anything because every vector is another model's (a
   * library ingested with one model, searched with another): an empty answer would read as
   * "nothing similar". The index holds this model's vectors only, so the database is asked
   * only when it is empty.
   */
  private checkModel(): void {
    if (this.index.size > 0) return;
    const mine = this.embedder.modelId;
    const others = [...new Set(this.store.embeddingSets().map((s) => s.modelId))].filter(
      (m) => m !== mine,
    );
    if (others.length === 0) return;
    throw new ModelMismatchError(
      `this library's vectors were made by ${others.join(', ')}, not by ${mine} (the model in use); ` +
        `search with the model that made them (--model DIR), or re-embed the library with this one: ` +
        `\`matsearch ingest <its folders> --model DIR\` (the other vectors stay)`,
    );
  }

  private inputOptions() {
    return queryDecodeOptions(this.embedder);
  }

  /**
   * Classifies an image (decoded like a query) with the model's head; a model without one is
   * refused (NoHeadError) before anything is decoded. The library's vectors play no part.
   */
  async classifyBytes(bytes: Buffer, o: ClassifyOptions = {}): Promise<Classification> {
    this.check();
    checkCanClassify(this.embedder);
    const input = await decodeInput(bytes, this.inputOptions());
    return (await classifyInputs(this.embedder, [input], o))[0]!;
  }

  /** More like an image already in the library (no encoding). */
  async similar(imageId: number, o: SearchOptions = {}): Promise<SearchResponse> {
    this.check();
    this.checkModel();
    return this.searcher.similar(imageId, o);
  }

  /**
   * Upgrades narrower vectors to full width (re-decoding each image from one of its paths), so
   * a library ingested quickly at 1/8 width reaches full-width quality while it stays searchable.
   */
  async refine(
    o: {
      batch?: number;
      /** Refine at most this many images in this call (the rest wait for the next). */
      limit?: number;
      /** Images to leave alone (e.g. ones that failed before). */
      exclude?: ReadonlySet<number>;
      /** Save the index at the end (default true; a caller refining in slices saves at its end). */
      save?: boolean;
      onProgress?: (done: number, total: number) => void;
      signal?: AbortSignal;
    } = {},
  ) {
    this.check();
    const release = acquireLock(join(this.dir, 'write.lock'), 'refining');
    const model = this.embedder.modelId;
    const decodeOpts = this.inputOptions();
    const rank = this.embedder.widthRank(1);
    let done = 0;
    let failed = 0;
    const failedIds: number[] = [];
    try {
      const narrow = [...this.store.narrowImages(model).keys()]
        .filter((id) => !o.exclude?.has(id))
        .sort((a, b) => a - b);
      const todo = narrow.slice(0, o.limit ?? narrow.length);
      const batch = o.batch ?? 32;
      for (let s = 0; s < todo.length && !o.signal?.aborted; s += batch) {
        const inputs: { id: number; input: Float32Array }[] = [];
        for (const id of todo.slice(s, s + batch)) {
          const path = this.store.pathsOf(id)[0];
          try {
            if (!path) throw new Error('no path');
            inputs.push({ id, input: await decodeInput(await readFile(path), decodeOpts) });
          } catch {
            failed++; // the file changed or vanished: the next ingest deals with it
            failedIds.push(id);
          }
        }
        const vectors = await this.embedder.embed(
          inputs.map((x) => x.input),
          1,
        );
        this.index.mirror(
          () =>
            inputs.forEach((x, i) => this.store.putEmbedding(x.id, model, '1', rank, vectors[i]!)),
          () => inputs.forEach((x, i) => this.index.add(x.id, vectors[i]!, '1', rank)),
        );
        done += inputs.length;
        o.onProgress?.(done, todo.length);
      }
      if (o.save !== false) this.index.save();
      return {
        refined: done,
        failed,
        failedIds,
        total: todo.length,
        left: narrow.length - done - failed,
      };
    } finally {
      release();
    }
  }

  /** Groups of images whose vectors are at least `threshold` cosine-similar (near duplicates). */
  dupes(threshold = 0.99, neighbours = 10): { ids: number[]; paths: string[] }[] {
    this.check();
    const parent = new Map<number, number>();
    const find = (x: number): number => {
      let r = x;
      while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r)!;
      parent.set(x, r);
      return r;
    };
    for (const r of this.store.widestEmbeddings(this.embedder.modelId, this.embedder.dim)) {
      const hits = this.index.search(r.vector, neighbours + 1);
      hits.labels.forEach((l, i) => {
        if (l === r.imageId || hits.scores[i]! < threshold) return;
        parent.set(find(l), find(r.imageId));
      });
    }
    const groups = new Map<number, number[]>();
    for (const id of parent.keys()) {
      const root = find(id);
      groups.set(root, [...(groups.get(root) ?? []), id]);
    }
    return [...groups.values()]
      .filter((g) => g.length > 1)
      .map((g) => g.sort((a, b) => a - b))
      .sort((a, b) => b.length - a.length || a[0]! - b[0]!)
      .map((ids) => ({ ids, paths: ids.map((id) => this.store.pathsOf(id)[0] ?? '') }));
  }

  /** Removes an image (all its paths, vectors, index entry and thumbnail). */
  remove(imageId: number): boolean {
    this.check();
    const img = this.store.getImage(imageId);
    if (!img) return false;
    const release = acquireLock(join(this.dir, 'write.lock'), 'removing');
    try {
      this.index.mirror(
        () => this.store.deleteImage(imageId),
        () => this.index.remove(imageId),
      );
      for (const t of thumbnailPaths(this.thumbsDir, img.hash)) rmSync(t, { force: true });
      try {
        this.index.save();
      } catch (err) {
        // The delete is committed and the index in memory agrees; only its file is stale, which
        // the next open repairs. Failing the call now would report a removed image as kept.
        const e = err as { code?: string; message?: string };
        this.log(
          `image ${imageId} removed, but the index could not be saved (${e.code ?? 'error'}: ${e.message ?? String(err)}); it is repaired when the library next opens`,
        );
      }
      return true;
    } finally {
      release();
    }
  }

  /** Rebuilds the search index from the database. */
  /**
   * Records the library's coarse index (`hnswlib`, `usearch`, `usearch:f16|i8|b1`); the next
   * open builds it. The rerank always uses the exact stored vectors, so a coarser kind trades
   * shortlist quality (docs/bench/search.md) for memory.
   */
  setCoarse(spec: string): void {
    this.check();
    parseCoarse(spec); // refuse a bad one before recording it
    const release = acquireLock(join(this.dir, 'write.lock'), 'changing the index');
    try {
      this.store.setMeta(COARSE_META, spec);
    } finally {
      release();
    }
  }

  /** The recorded coarse index choice (default hnswlib). */
  get coarse(): string {
    return this.store.getMeta(COARSE_META) ?? 'hnswlib';
  }

  reindex(): { kind: string; size: number } {
    this.check();
    const release = acquireLock(join(this.dir, 'write.lock'), 'rebuilding the index');
    try {
      this.index.rebuild();
      this.index.save();
    } finally {
      release();
    }
    return { kind: this.index.kind, size: this.index.size };
  }

  /**
   * Brings the index up to date with vectors other processes wrote or deleted since (a CLI
   * ingest while a server runs); cheap when nothing changed (one row read). In memory only.
   */
  refresh(): { added: number; removed: number } | null {
    this.check();
    return this.index.catchUp();
  }

  thumbnailOf(imageId: number): string | undefined {
    const img = this.store.getImage(imageId);
    return img ? findThumbnail(this.thumbsDir, img.hash) : undefined;
  }

  stats(): LibraryStats {
    this.check();
    const vectors = this.store.embeddingSets();
    const mine = this.store.modelFingerprint(this.embedder.modelId).images;
    return {
      images: this.store.imageCount(),
      failures: this.store.failureCount(),
      vectors,
      index: { kind: this.index.kind, size: this.index.size },
      modelId: this.embedder.modelId,
      otherModelOnly: this.store.imageCount('ready') - mine,
      deadLetters: { count: this.store.deadLetterCount(), recent: this.store.deadLetters(20) },
    };
  }

  close(): void {
    if (!this.open_) return;
    this.open_ = false;
    try {
      this.index.persist({ wait: true }); // a full disk may refuse it: the next open repairs the index
    } finally {
      this.index.close();
      this.store.close();
    }
  }
}

export function openLibrary(dir: string, o: LibraryOptions): Library {
  return Library.open(dir, o);
}
