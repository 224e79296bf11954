/**
 * The library database: a synchronous better-sqlite3 wrapper in WAL mode. Statements are
 * prepared once; every multi-row write runs in `transaction()`. Vectors are float32 BLOBs tagged
 * with the model id, width label and dimension that made them.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ModelMismatchError, NotOpenError, ValidationError } from '../errors.js';
import { Database } from './sqlite.js';
import { MIGRATIONS } from './schema.js';
import { prepare, type Statements } from './statements.js';

export type ImageStatus = 'pending' | 'ready' | 'error';

export interface ImageRow {
  readonly id: number;
  readonly hash: string;
  readonly size: number;
  readonly width: number | null;
  readonly height: number | null;
  readonly format: string | null;
  readonly addedAt: number;
  readonly status: ImageStatus;
  readonly error: string | null;
}

export interface PathRow {
  readonly path: string;
  readonly imageId: number;
  readonly root: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** Which limit refused a file, and its value then (a timeout of 0 means none). */
export interface FailureLimit {
  readonly kind: 'pixels' | 'bytes' | 'timeout';
  readonly value: number;
}

export interface FailureRow {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly error: string;
  /** Set when a limit, not the file, caused the failure: retried once the limit is raised. */
  readonly limit: FailureLimit | null;
}

/** A queued file whose job failed on every try (see queue/). */
export interface DeadLetterRow {
  readonly path: string;
  readonly root: string;
  readonly hash: string;
  readonly jobId: string;
  /** The last attempt's error. */
  readonly error: string;
  readonly attempts: number;
  readonly at: number;
}

export interface JobRow {
  readonly id: number;
  readonly kind: string;
  readonly state: 'running' | 'done' | 'failed' | 'interrupted';
  readonly total: number;
  readonly done: number;
  readonly errors: number;
  readonly message: string | null;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
}

type RawFailure = Omit<FailureRow, 'limit'> & {
  limitKind: FailureLimit['kind'] | null;
  limitValue: number | null;
};

function failureRow({ limitKind, limitValue, ...r }: RawFailure): FailureRow {
  return { ...r, limit: limitKind === null ? null : { kind: limitKind, value: limitValue ?? 0 } };
}

function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function fromBlob(b: Buffer): Float32Array {
  // Copy: the Buffer may be unaligned for a Float32Array view.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export class Store {
  private db: Database | null;
  private readonly s: Statements;

  private constructor(db: Database) {
    this.db = db;
    this.s = prepare(db);
  }

  /** Opens (creating if needed) the database file and brings its schema up to date. */
  static open(file: string, opts: { readonly?: boolean } = {}): Store {
    if (file !== ':memory:' && !opts.readonly) mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file, { readonly: opts.readonly ?? false, timeout: 10_000 });
    try {
      Store.prepare(db, file, opts);
    } catch (err) {
      db.close(); // a garbage file, a newer schema, a full disk: no handle left open
      throw err;
    }
    return new Store(db);
  }

  /** Sets the connection up and brings the schema up to date (or refuses a newer one). */
  private static prepare(db: Database, file: string, opts: { readonly?: boolean }) {
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      // WAL + FULL: every commit is fsynced, so an acknowledged write survives a power cut
      // (NORMAL could roll the last ones back). Measured: ~0.3-0.5 ms a commit; an ingest commits
      // once per batch, an upload once.
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = OFF'); // during migrations only (better-sqlite3 turns them on)
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new ValidationError(
        `${file} was written by a newer matsearch (schema ${version} > ${MIGRATIONS.length}); upgrade matsearch`,
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      if (opts.readonly)
        throw new ValidationError(`${file} needs a schema upgrade; open it writable once`);
      // IMMEDIATE, and the version read again inside: two processes opening a new library at
      // once would otherwise both run the same migration (and the second fail).
      // Foreign keys are off meanwhile (a table rebuilt by a migration must not cascade), and
      // checked before the commit.
      db.transaction(() => {
        if ((db.pragma('user_version', { simple: true }) as number) > v) return;
        const before = (db.pragma('foreign_key_check') as unknown[]).length;
        db.exec(MIGRATIONS[v]!);
        const broken = (db.pragma('foreign_key_check') as unknown[]).length - before;
        if (broken > 0)
          throw new ValidationError(
            `${file}: schema upgrade ${v + 1} would break ${broken} reference(s); nothing was changed`,
          );
        db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
    db.pragma('foreign_keys = ON');
  }

  private check(): void {
    if (!this.db) throw new NotOpenError('the library database is closed');
  }

  private get conn(): Database {
    if (!this.db) throw new NotOpenError('the library database is closed');
    return this.db;
  }

  /** Runs fn in one transaction (nested calls become savepoints). Never pass an async fn. */
  transaction<T>(fn: () => T): T {
    return this.conn.transaction(fn)();
  }

  close(): void {
    if (!this.db) return;
    this.db.close();
    this.db = null;
  }

  get isOpen(): boolean {
    return this.db !== null;
  }

  // ---- meta ------------------------------------------------------------------------------

  getMeta(key: string): string | undefined {
    this.check();
    return (this.s.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.check();
    this.s.setMeta.run(key, value);
  }

  // ---- images and paths ----------------------------------------------------------------

  getImage(id: number): ImageRow | undefined {
    this.check();
    return this.s.getImage.get(id) as ImageRow | undefined;
  }

  findImageByHash(hash: string): ImageRow | undefined {
    this.check();
    return this.s.findImageByHash.get(hash) as ImageRow | undefined;
  }

  insertImage(r: {
    hash: string;
    size: number;
    width?: number;
    height?: number;
    format?: string;
    status: ImageStatus;
    error?: string;
  }): number {
    this.check();
    const info = this.s.insertImage.run(
      r.hash,
      r.size,
      r.width ?? null,
      r.height ?? null,
      r.format ?? null,
      Date.now(),
      r.status,
      r.error ?? null,
    );
    return Number(info.lastInsertRowid);
  }

  setImageStatus(id: number, status: ImageStatus, error: string | null = null): void {
    this.check();
    this.s.setImageStatus.run(status, error, id);
  }

  findPath(path: string): PathRow | undefined {
    this.check();
    return this.s.findPath.get(path) as PathRow | undefined;
  }

  /** Records (or moves) a path to an image. */
  putPath(p: PathRow): void {
    this.check();
    this.s.putPath.run(p.path, p.imageId, p.root, p.size, p.mtimeMs, Date.now());
  }

  pathsOf(imageId: number): string[] {
    this.check();
    return (this.s.pathsOf.all(imageId) as { path: string }[]).map((r) => r.path);
  }

  /** Paths whose text contains `part` (one scan of the paths table). */
  pathsContaining(part: string): PathRow[] {
    this.check();
    const like = '%' + part.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
    return (this.s.pathsLike.all(like) as PathRow[]).filter((p) => p.path.includes(part));
  }

  /** Renames a path row (the file is the same, its spelling changed: a moved library). */
  movePath(from: string, to: string, root: string): void {
    this.check();
    this.s.movePath.run(to, root, from);
  }

  pathsUnder(root: string): PathRow[] {
    this.check();
    return this.s.pathsUnder.all(root) as PathRow[];
  }

  /** The distinct roots the library's paths were ingested from, sorted. */
  roots(): string[] {
    this.check();
    return (this.s.roots.all() as { root: string }[]).map((r) => r.root);
  }

  /** Removes a path; deletes its image (and vectors) when no path is left. Returns the orphan's id. */
  removePath(path: string): number | null {
    return this.transaction(() => {
      const row = this.findPath(path);
      if (!row) return null;
      this.s.removePath.run(path);
      if ((this.s.countPaths.get(row.imageId) as { n: number }).n === 0) {
        this.s.deleteImage.run(row.imageId);
        return row.imageId;
      }
      return null;
    });
  }

  /** Deletes an image with all its paths and vectors. */
  deleteImage(id: number): boolean {
    this.check();
    return this.s.deleteImage.run(id).changes > 0;
  }

  /** Images in id order after `afterId`, for paging. */
  listImages(afterId: number, limit: number): ImageRow[] {
    this.check();
    return this.s.listImages.all(afterId, limit) as ImageRow[];
  }

  imageCount(status?: ImageStatus): number {
    this.check();
    return status
      ? (this.s.countImagesByStatus.get(status) as { n: number }).n
      : (this.s.countImages.get() as { n: number }).n;
  }

  // ---- failures --------------------------------------------------------------------------

  findFailure(path: string): FailureRow | undefined {
    this.check();
    const r = this.s.findFailure.get(path) as RawFailure | undefined;
    return r && failureRow(r);
  }

  /** Records why a file failed; `limit` when a limit refused it (retried once raised). */
  recordFailure(
    path: string,
    root: string,
    size: number,
    mtimeMs: number,
    error: string,
    limit: FailureLimit | null = null,
  ): void {
    this.check();
    this.s.putFailure.run(
      path,
      root,
      size,
      mtimeMs,
      error,
      Date.now(),
      limit?.kind ?? null,
      limit?.value ?? null,
    );
  }

  clearFailure(path: string): void {
    this.check();
    this.s.clearFailure.run(path);
  }

  failuresUnder(root: string): FailureRow[] {
    this.check();
    return (this.s.failuresUnder.all(root) as RawFailure[]).map(failureRow);
  }

  failureCount(): number {
    this.check();
    return (this.s.countFailures.get() as { n: number }).n;
  }

  // ---- dead letters ---------------------------------------------------------------------

  putDeadLetter(r: Omit<DeadLetterRow, 'at'>): void {
    this.check();
    this.s.putDeadLetter.run(r.path, r.root, r.hash, r.jobId, r.error, r.attempts, Date.now());
  }

  clearDeadLetter(path: string): void {
    this.check();
    this.s.clearDeadLetter.run(path);
  }

  /** The most recent dead letters first. */
  deadLetters(limit = 100): DeadLetterRow[] {
    this.check();
    return this.s.deadLetters.all(limit) as DeadLetterRow[];
  }

  deadLettersUnder(root: string): DeadLetterRow[] {
    this.check();
    return this.s.deadLettersUnder.all(root) as DeadLetterRow[];
  }

  deadLetterCount(): number {
    this.check();
    return (this.s.countDeadLetters.get() as { n: number }).n;
  }

  // ---- embeddings --------------------------------------------------------------------------

  /** Stores a vector; `widthRank` is the mean active fraction of d_model (1 = full width). */
  putEmbedding(
    imageId: number,
    modelId: string,
    width: string,
    widthRank: number,
    vector: Float32Array,
  ): void {
    this.check();
    this.s.putEmbedding.run(
      imageId,
      modelId,
      width,
      widthRank,
      vector.length,
      toBlob(vector),
      Date.now(),
    );
  }

  getEmbedding(imageId: number, modelId: string, width: string): Float32Array | undefined {
    this.check();
    const r = this.s.getEmbedding.get(imageId, modelId, width) as
      { vector: Buffer; dim: number } | undefined;
    return r ? fromBlob(r.vector) : undefined;
  }

  /** Every vector of (model, width), in image id order. Checks each has `dim` entries. */
  *embeddings(
    modelId: string,
    width: string,
    dim: number,
  ): Generator<{ imageId: number; vector: Float32Array }> {
    this.check();
    for (const r of this.s.embeddings.iterate(modelId, width) as Iterable<{
      imageId: number;
      dim: number;
      vector: Buffer;
    }>) {
      if (r.dim !== dim) {
        throw new ModelMismatchError(
          `vector of image ${r.imageId} has ${r.dim} dims, model ${modelId} makes ${dim}`,
        );
      }
      yield { imageId: r.imageId, vector: fromBlob(r.vector) };
    }
  }

  /**
   * For every image with any vector of `modelId`, its widest one (full width when refined),
   * in image id order; with `since`, only images with a vector written (or deleted) after that
   * change count (see `vectorSeq`).
   */
  *widestEmbeddings(
    modelId: string,
    dim: number,
    since?: number,
  ): Generator<{
    imageId: number;
    width: string;
    widthRank: number;
    createdAt: number;
    vector: Float32Array;
  }> {
    this.check();
    let last = -1;
    const rows = (
      since === undefined
        ? this.s.widest.iterate(modelId)
        : this.s.widestSince.iterate(modelId, modelId, since)
    ) as Iterable<{
      imageId: number;
      width: string;
      widthRank: number;
      dim: number;
      createdAt: number;
      vector: Buffer;
    }>;
    for (const r of rows) {
      if (r.imageId === last) continue; // rows come widest first per image
      last = r.imageId;
      if (r.dim !== dim)
        throw new ModelMismatchError(
          `vector of image ${r.imageId} has ${r.dim} dims, model ${modelId} makes ${dim}`,
        );
      yield {
        imageId: r.imageId,
        width: r.width,
        widthRank: r.widthRank,
        createdAt: r.createdAt,
        vector: fromBlob(r.vector),
      };
    }
  }

  /** One image's vectors of a model, widest first. */
  *widestEmbeddingsOf(
    imageId: number,
    modelId: string,
  ): Generator<{ width: string; vector: Float32Array }> {
    this.check();
    for (const r of this.s.vectorsOf.iterate(imageId, modelId) as Iterable<{
      width: string;
      vector: Buffer;
    }>) {
      yield { width: r.width, vector: fromBlob(r.vector) };
    }
  }

  /** One image's widest vector of a model (one row read), or undefined when it has none. */
  widestEmbedding(
    imageId: number,
    modelId: string,
  ): { width: string; vector: Float32Array } | undefined {
    this.check();
    const r = this.s.vectorsOf.get(imageId, modelId) as
      { width: string; vector: Buffer } | undefined;
    return r && { width: r.width, vector: fromBlob(r.vector) };
  }

  /**
   * The vectors of (model, width) of many images in one query (a search's shortlist), by image
   * id; images without one are absent.
   */
  embeddingsOf(
    imageIds: readonly number[],
    modelId: string,
    width: string,
  ): Map<number, Float32Array> {
    this.check();
    const rows = this.s.embeddingsOf.all(JSON.stringify(imageIds), modelId, width) as {
      imageId: number;
      vector: Buffer;
    }[];
    return new Map(rows.map((r) => [r.imageId, fromBlob(r.vector)]));
  }

  /** The paths of many images in one query, by image id (each list sorted; none: absent). */
  pathsOfMany(imageIds: readonly number[]): Map<number, string[]> {
    this.check();
    const out = new Map<number, string[]>();
    for (const r of this.s.pathsOfMany.all(JSON.stringify(imageIds)) as {
      imageId: number;
      path: string;
    }[]) {
      const list = out.get(r.imageId);
      if (list) list.push(r.path);
      else out.set(r.imageId, [r.path]);
    }
    return out;
  }

  /** Images whose widest vector of `modelId` is narrower than full width, with its width rank. */
  narrowImages(modelId: string): Map<number, number> {
    this.check();
    const rows = this.s.narrow.all(modelId) as { imageId: number; rank: number }[];
    return new Map(rows.map((r) => [r.imageId, r.rank]));
  }

  /**
   * The vector change count: bumped by every write or delete of any vector, by any process
   * (database triggers). An index that reflects count c needs only the rows written after c.
   */
  vectorSeq(): number {
    return this.vectorChanges().seq;
  }

  /** The change count, and how many of the changes were deletes (see `vectorSeq`). */
  vectorChanges(): { seq: number; deletes: number } {
    this.check();
    return this.s.vectorSeq.get() as { seq: number; deletes: number };
  }

  /** Count, id sum and latest write of a model's vectors: a cheap fingerprint for index checks. */
  modelFingerprint(modelId: string): { images: number; idSum: number; maxCreatedAt: number } {
    this.check();
    const r = this.s.fingerprint.get(modelId) as {
      images: number;
      idSum: number | null;
      maxCreatedAt: number | null;
    };
    return { images: r.images, idSum: r.idSum ?? 0, maxCreatedAt: r.maxCreatedAt ?? 0 };
  }

  embeddingCount(modelId: string, width?: string): number {
    this.check();
    return width === undefined
      ? (this.s.countEmbeddingsModel.get(modelId) as { n: number }).n
      : (this.s.countEmbeddings.get(modelId, width) as { n: number }).n;
  }

  /** (model, width, count) of every vector set in the library. */
  embeddingSets(): { modelId: string; width: string; count: number }[] {
    this.check();
    return this.s.embeddingSets.all() as { modelId: string; width: string; count: number }[];
  }

  /** Ready images that have no vector of (model, width). */
  imagesWithout(modelId: string, width: string, limit: number): number[] {
    this.check();
    return (this.s.imagesWithout.all(modelId, width, limit) as { id: number }[]).map((r) => r.id);
  }

  deleteEmbeddings(imageId: number, modelId: string, width: string): void {
    this.check();
    this.s.deleteEmbedding.run(imageId, modelId, width);
  }

  // ---- jobs --------------------------------------------------------------------------------

  startJob(kind: string, total: number): number {
    this.check();
    const now = Date.now();
    return Number(this.s.startJob.run(kind, total, now, now).lastInsertRowid);
  }

  updateJob(
    id: number,
    p: { total?: number; done?: number; errors?: number; message?: string },
  ): void {
    this.check();
    this.s.updateJob.run(
      p.total ?? null,
      p.done ?? null,
      p.errors ?? null,
      p.message ?? null,
      Date.now(),
      id,
    );
  }

  finishJob(id: number, state: 'done' | 'failed' | 'interrupted', message?: string): void {
    this.check();
    const now = Date.now();
    this.s.finishJob.run(state, message ?? null, now, now, id);
  }

  getJob(id: number): JobRow | undefined {
    this.check();
    return this.s.getJob.get(id) as JobRow | undefined;
  }

  /** Marks jobs left 'running' by a process that died as interrupted. */
  interruptStaleJobs(): number {
    this.check();
    return this.s.interruptJobs.run(Date.now()).changes;
  }

  /** `PRAGMA integrity_check` result ('ok' when sound). */
  integrityCheck(): string {
    return (this.conn.pragma('integrity_check', { simple: true }) as string) ?? 'unknown';
  }
}
