/**
 * The single writer of an ingest run: everything a run changes in the library goes through here,
 * whichever stage made the vectors (local-stage.ts, or the queue's workers).
 *
 * Crash safety: a batch's images, paths and vectors commit in one transaction; thumbnails are
 * written before it (idempotent, named by content hash); index entries are added after it, and the
 * index is a cache the next open repairs. Writing the same result twice leaves the library as
 * writing it once, so a result delivered again after a crash does no harm.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Embedder } from '../src/embed/embedder.js';
import type { FailureLimit, Store } from '../src/store/store.js';
import type { LibraryIndex } from '../index/library-index.js';
import { DecodeError } from './decode.js';
import type { EmbeddedImage } from './stage.js';
import type { FoundFile } from './walk.js';
import { thumbnailPath, thumbnailPaths } from './thumbs.js';

export interface IngestContext {
  readonly store: Store;
  readonly index: LibraryIndex;
  readonly embedder: Embedder;
  readonly thumbsDir: string;
  readonly log?: (msg: string) => void;
}

export interface IngestCounts {
  added: number;
  duplicates: number;
  unchanged: number;
  /** Files whose image was already there, at that path, without a vector of this model. */
  reembedded: number;
  failed: number;
  pruned: number;
  embedded: number;
  /** Files whose queued job failed on every try (queue/ only). */
  deadLettered: number;
}

/** A queued job that failed for good. */
export interface DeadLetter {
  readonly file: FoundFile;
  readonly hash: string;
  readonly jobId: string;
  readonly error: string;
  readonly attempts: number;
  /** The file itself is unusable (not an image): recorded as a failure too, like a local run. */
  readonly badFile: boolean;
  /** With badFile: the limit that refused it, when one did (retried once it is raised). */
  readonly limit?: FailureLimit | null;
}

export { thumbnailPath };

const MAX_ERRORS = 20;
const SAVE_EVERY_MS = 30_000;

export class IngestWriter {
  readonly counts: IngestCounts = {
    added: 0,
    duplicates: 0,
    unchanged: 0,
    reembedded: 0,
    failed: 0,
    pruned: 0,
    embedded: 0,
    deadLettered: 0,
  };
  /** The first failures, for the summary (all are in the library's failures table). */
  readonly errors: { path: string; error: string }[] = [];
  /** Images deleted in the current transaction: their index entries and thumbnails go after commit. */
  private gone: { id: number; hash: string }[] = [];
  private lastSave = performance.now();

  constructor(
    private readonly ctx: IngestContext,
    private readonly widthLabel: string,
    private readonly widthRank: number,
    /** Called after each committed write (progress, job row). */
    private readonly onWrite: () => void = () => {},
  ) {}

  private get store(): Store {
    return this.ctx.store;
  }

  noteError(path: string, error: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ path, error });
  }

  /**
   * Runs fn in one transaction; after commit, what it deleted leaves the index and thumbnails,
   * then `after` mirrors the rest into the index.
   */
  transact<T>(fn: () => T, after?: (r: T) => void): T {
    this.gone = [];
    return this.ctx.index.mirror(fn, (r) => {
      for (const g of this.gone) {
        this.ctx.index.remove(g.id);
        for (const t of thumbnailPaths(this.ctx.thumbsDir, g.hash)) rmSync(t, { force: true });
      }
      this.gone = [];
      after?.(r);
    });
  }

  /** Content that has a vector of this model at this width or at full width needs no work. */
  hasVector(imageId: number): boolean {
    const model = this.ctx.embedder.modelId;
    return (
      this.store.getEmbedding(imageId, model, this.widthLabel) !== undefined ||
      this.store.getEmbedding(imageId, model, '1') !== undefined
    );
  }

  /** Removes a path; an image left without paths is deleted with its vectors. In a transaction. */
  dropPath(path: string): void {
    const prev = this.store.findPath(path);
    const img = prev && this.store.getImage(prev.imageId);
    if (this.store.removePath(path) !== null && img) this.gone.push({ id: img.id, hash: img.hash });
  }

  /** Points `f.path` at image `id`; the image it pointed at before goes if it has no path left. */
  link(f: FoundFile, id: number): void {
    const { store } = this;
    const prev = store.findPath(f.path);
    store.putPath({ path: f.path, imageId: id, root: f.root, size: f.size, mtimeMs: f.mtimeMs });
    store.clearFailure(f.path);
    store.clearDeadLetter(f.path);
    if (prev && prev.imageId !== id && store.pathsOf(prev.imageId).length === 0) {
      const img = store.getImage(prev.imageId);
      store.deleteImage(prev.imageId);
      if (img) this.gone.push({ id: img.id, hash: img.hash });
    }
  }

  /** Records a file that could not be read or decoded; it is not retried while unchanged. */
  fail(f: FoundFile, err: unknown): void {
    const msg =
      err instanceof DecodeError ? err.message : `could not read: ${(err as Error).message}`;
    this.transact(() => this.recordFailure(f, msg, err instanceof DecodeError ? err.limit : null));
    this.counts.failed++;
    this.noteError(f.path, msg);
  }

  private recordFailure(f: FoundFile, msg: string, limit: FailureLimit | null = null): void {
    this.dropPath(f.path);
    this.store.recordFailure(f.path, f.root, f.size, f.mtimeMs, msg, limit);
  }

  /** Records a queued job that failed for good (and, for an unusable file, a failure). */
  deadLetter(d: DeadLetter): void {
    const { file: f } = d;
    this.transact(() => {
      if (d.badFile) this.recordFailure(f, d.error, d.limit ?? null);
      this.store.putDeadLetter({
        path: f.path,
        root: f.root,
        hash: d.hash,
        jobId: d.jobId,
        error: d.error,
        attempts: d.attempts,
      });
    });
    this.counts.failed++;
    this.counts.deadLettered++;
    this.noteError(f.path, d.error);
    this.onWrite();
  }

  /** Stores embedded images: thumbnails, then images, paths and vectors in one transaction. */
  write(items: readonly EmbeddedImage[]): void {
    if (items.length === 0) return;
    for (const it of items) {
      const file = thumbnailPath(this.ctx.thumbsDir, it.hash);
      try {
        writeFileSync(`${file}.tmp`, it.thumbnail);
      } catch (err) {
        // Its folder (one of 256) is made on the first write into it, not asked for every time.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(`${file}.tmp`, it.thumbnail);
      }
      renameSync(`${file}.tmp`, file);
    }
    const { store } = this;
    const modelId = this.ctx.embedder.modelId;
    let written = 0;
    this.transact(
      () =>
        items.map((it) => {
          const known = store.findImageByHash(it.hash)?.id;
          // The same content twice in one run, decoded side by side: the later one only links
          // its paths (its vector would overwrite an equal one, and count twice).
          const write = known === undefined || !this.hasVector(known);
          const id =
            known ??
            store.insertImage({
              hash: it.hash,
              size: it.size,
              width: it.width,
              height: it.height,
              format: it.format,
              status: 'ready',
            });
          it.files.forEach((f, j) => {
            if (known === undefined && j === 0) this.counts.added++;
            else if (store.findPath(f.path)?.imageId !== id) this.counts.duplicates++;
            // Known content at its own path: only a vector of this model was missing.
            else if (write) this.counts.reembedded++;
            else this.counts.unchanged++;
            this.link(f, id);
          });
          if (!write) return null;
          store.putEmbedding(id, modelId, this.widthLabel, this.widthRank, it.vector);
          written++;
          return id;
        }),
      (ids) =>
        ids.forEach((id, i) => {
          if (id !== null)
            this.ctx.index.add(id, items[i]!.vector, this.widthLabel, this.widthRank);
        }),
    );
    this.counts.embedded += written;
    if (performance.now() - this.lastSave > SAVE_EVERY_MS) {
      this.ctx.index.save();
      this.lastSave = performance.now();
    }
    this.onWrite();
  }
}
