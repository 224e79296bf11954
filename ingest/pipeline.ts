/**
 * The ingest run: walk -> skip what is unchanged -> read + hash -> reuse known content ->
 * decode (thumbnail + model input) -> embed in batches -> write each batch in one transaction.
 *
 * Crash safety: a batch's images, paths and vectors commit together, thumbnails are written
 * before (idempotent, named by content hash), and the index is a cache the next open repairs.
 * Killed at any moment and run again, the library ends as an uninterrupted run would.
 * A failing file is recorded with its error and never stops the run.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Embedder } from '../src/embed/embedder.js';
import type { WidthSpec } from '../src/model/nesting.js';
import type { Store } from '../src/store/store.js';
import type { LibraryIndex } from '../index/library-index.js';
import {
  contentHash,
  decodeBytes,
  DECODE_DEFAULTS,
  DecodeError,
  readBytes,
  type DecodeOptions,
  type DecodedImage,
} from './decode.js';
import { walk, type FoundFile, type WalkOptions } from './walk.js';

export interface IngestContext {
  readonly store: Store;
  readonly index: LibraryIndex;
  readonly embedder: Embedder;
  readonly thumbsDir: string;
  readonly log?: (msg: string) => void;
}

export interface IngestOptions {
  /** Width the vectors are made at (default full). Narrow vectors can be refined later. */
  readonly width?: WidthSpec;
  readonly walk?: WalkOptions;
  /** Remove library entries whose files are gone from the given roots. */
  readonly prune?: boolean;
  /** Images per embedding batch. */
  readonly batch?: number;
  /** Files read and decoded at once. */
  readonly concurrency?: number;
  readonly decode?: Partial<Omit<DecodeOptions, 'inputSize' | 'inputChannels'>>;
  readonly onProgress?: (p: IngestProgress) => void;
  /** Stop early (tests): after this many files have been handled. */
  readonly signal?: AbortSignal;
}

export interface IngestProgress {
  readonly total: number;
  readonly done: number;
  readonly embedded: number;
  readonly errors: number;
}

export interface IngestSummary {
  readonly jobId: number;
  readonly files: number;
  readonly added: number;
  readonly duplicates: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly pruned: number;
  readonly embedded: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
  /** The first failures, for the summary (all are in the library's failures table). */
  readonly errors: { path: string; error: string }[];
}

interface Pending {
  file: FoundFile;
  decoded: DecodedImage;
}

export function thumbnailPath(thumbsDir: string, hash: string): string {
  return join(thumbsDir, hash.slice(0, 2), `${hash}.webp`);
}

export async function ingest(
  ctx: IngestContext,
  roots: readonly string[],
  o: IngestOptions = {},
): Promise<IngestSummary> {
  const { store, index, embedder } = ctx;
  const log = ctx.log ?? (() => {});
  const width = o.width ?? 1;
  const widthLabel = embedder.widthLabel(width);
  const widthRank = embedder.widthRank(width);
  const batchSize = o.batch ?? 32;
  const concurrency = o.concurrency ?? 4;
  const decodeOpts: DecodeOptions = {
    ...DECODE_DEFAULTS,
    ...o.decode,
    inputSize: embedder.inputSize,
    inputChannels: embedder.inputChannels,
  };
  const t0 = performance.now();
  const errors: { path: string; error: string }[] = [];
  const counts = { added: 0, duplicates: 0, unchanged: 0, failed: 0, pruned: 0, embedded: 0 };
  const files = [
    ...walk(
      roots,
      o.walk ?? {},
      (path, err) => errors.length < 20 && errors.push({ path, error: err.message }),
    ),
  ];
  const jobId = store.startJob('ingest', files.length);
  let done = 0;
  let lastSave = performance.now();
  const progress = () =>
    o.onProgress?.({ total: files.length, done, embedded: counts.embedded, errors: counts.failed });

  /** Images deleted in the current transaction: their index entries and thumbnails go after commit. */
  let gone: { id: number; hash: string }[] = [];
  const sweep = () => {
    for (const g of gone) {
      index.remove(g.id);
      rmSync(thumbnailPath(ctx.thumbsDir, g.hash), { force: true });
    }
    gone = [];
  };
  const write = <T>(fn: () => T): T => {
    gone = [];
    const r = store.transaction(fn);
    sweep();
    return r;
  };

  /** Removes a path; an image left without paths is deleted with its vectors. */
  const dropPath = (path: string) => {
    const prev = store.findPath(path);
    const img = prev && store.getImage(prev.imageId);
    if (store.removePath(path) !== null && img) gone.push({ id: img.id, hash: img.hash });
  };

  /** Points `f.path` at image `id`; the image it pointed at before goes if it has no path left. */
  const link = (f: FoundFile, id: number) => {
    const prev = store.findPath(f.path);
    store.putPath({ path: f.path, imageId: id, root: f.root, size: f.size, mtimeMs: f.mtimeMs });
    store.clearFailure(f.path);
    if (prev && prev.imageId !== id && store.pathsOf(prev.imageId).length === 0) {
      const img = store.getImage(prev.imageId);
      store.deleteImage(prev.imageId);
      if (img) gone.push({ id: img.id, hash: img.hash });
    }
  };

  const fail = (f: FoundFile, err: unknown) => {
    const msg =
      err instanceof DecodeError ? err.message : `could not read: ${(err as Error).message}`;
    write(() => {
      dropPath(f.path);
      store.recordFailure(f.path, f.root, f.size, f.mtimeMs, msg);
    });
    counts.failed++;
    if (errors.length < 20) errors.push({ path: f.path, error: msg });
  };

  // Content that already has a vector of this model at this width or at full width needs no work.
  const hasVector = (imageId: number) =>
    store.getEmbedding(imageId, embedder.modelId, widthLabel) !== undefined ||
    store.getEmbedding(imageId, embedder.modelId, '1') !== undefined;

  let batch: Pending[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let flushFailed = false;
  const flush = async (items: Pending[]) => {
    if (items.length === 0) return;
    const vectors = await embedder.embed(
      items.map((p) => p.decoded.input),
      width,
    );
    for (const p of items) {
      const file = thumbnailPath(ctx.thumbsDir, p.decoded.hash);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, p.decoded.thumbnail);
      renameSync(`${file}.tmp`, file);
    }
    const ids = write(() =>
      items.map((p, i) => {
        const d = p.decoded;
        const known = store.findImageByHash(d.hash)?.id;
        if (known !== undefined) {
          counts.added--; // the same new content twice in one batch: the second is a duplicate
          counts.duplicates++;
        }
        const id =
          known ??
          store.insertImage({
            hash: d.hash,
            size: d.size,
            width: d.width,
            height: d.height,
            format: d.format,
            status: 'ready',
          });
        link(p.file, id);
        store.putEmbedding(id, embedder.modelId, widthLabel, widthRank, vectors[i]!);
        return id;
      }),
    );
    ids.forEach((id, i) => index.add(id, vectors[i]!));
    counts.embedded += items.length;
    store.updateJob(jobId, { done, errors: counts.failed });
    if (performance.now() - lastSave > 30_000) {
      index.save();
      lastSave = performance.now();
    }
  };

  const handle = async (f: FoundFile): Promise<Pending | null> => {
    const known = store.findPath(f.path);
    if (known && known.size === f.size && known.mtimeMs === f.mtimeMs && hasVector(known.imageId)) {
      counts.unchanged++;
      return null;
    }
    const failure = store.findFailure(f.path);
    if (failure && failure.size === f.size && failure.mtimeMs === f.mtimeMs) {
      counts.failed++;
      return null;
    }
    try {
      const bytes = await readBytes(f.path, decodeOpts.maxBytes);
      const hash = contentHash(bytes);
      const same = store.findImageByHash(hash);
      if (same && hasVector(same.id)) {
        // Known content at a new path (a copy or a move) or a touched file: no decode needed.
        write(() => link(f, same.id));
        if (known?.imageId === same.id) counts.unchanged++;
        else counts.duplicates++;
        return null;
      }
      const decoded = await decodeBytes(bytes, decodeOpts, hash);
      counts.added++;
      return { file: f, decoded };
    } catch (err) {
      fail(f, err);
      return null;
    }
  };

  try {
    for (let s = 0; s < files.length && !o.signal?.aborted && !flushFailed; s += concurrency) {
      const group = files.slice(s, s + concurrency);
      const results = await Promise.all(group.map(handle));
      done += group.length;
      for (const r of results) if (r) batch.push(r);
      if (batch.length >= batchSize) {
        await flushing; // the previous batch's embedding overlapped with these decodes
        const items = batch;
        batch = [];
        flushing = flush(items);
        // A failure while the next files decode is handled here (not an unhandled rejection,
        // which would end the process before the job is marked failed); the loop stops and
        // the `await flushing` below rethrows it.
        flushing.catch(() => (flushFailed = true));
      }
      progress();
    }
    await flushing;
    await flush(batch);
    if (o.prune && !o.signal?.aborted) {
      const seen = new Set(files.map((f) => f.path));
      const rootsSeen = new Set(files.map((f) => f.root));
      for (const root of rootsSeen) {
        for (const p of store.pathsUnder(root)) {
          if (seen.has(p.path)) continue;
          write(() => dropPath(p.path));
          counts.pruned++;
        }
        for (const fl of store.failuresUnder(root))
          if (!seen.has(fl.path)) store.clearFailure(fl.path);
      }
    }
    index.save();
    store.updateJob(jobId, { done, errors: counts.failed });
    store.finishJob(jobId, o.signal?.aborted ? 'interrupted' : 'done');
  } catch (err) {
    index.save();
    store.finishJob(jobId, 'failed', (err as Error).message);
    throw err;
  }
  progress();
  const seconds = (performance.now() - t0) / 1000;
  log(`ingested ${files.length} files in ${seconds.toFixed(1)} s`);
  return {
    jobId,
    files: files.length,
    ...counts,
    seconds,
    imagesPerSecond: counts.embedded / Math.max(seconds, 1e-9),
    errors,
  };
}
