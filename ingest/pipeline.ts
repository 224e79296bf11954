/**
 * The ingest run: walk -> skip what is unchanged -> read + hash -> reuse known content ->
 * decode + embed (a stage: in this process, or queued to workers) -> write in transactions.
 *
 * Crash safety: a batch's images, paths and vectors commit together, thumbnails are written
 * before (idempotent, named by content hash), and the index is a cache the next open repairs
 * (writer.ts). Killed at any moment and run again, the library ends as an uninterrupted run would.
 * A failing file is recorded with its error and never stops the run.
 */
import type { WidthSpec } from '../src/model/nesting.js';
import { dirname, sep } from 'node:path';
import {
  checkDecodeOptions,
  contentHash,
  limitRaised,
  readBytes,
  DECODE_DEFAULTS,
  type DecodeOptions,
} from './decode.js';
import { explainFatal, isFatal } from './fatal.js';
import { localStage } from './local-stage.js';
import type { EmbedStage, StageFactory } from './stage.js';
import { walk, type FoundFile, type WalkOptions } from './walk.js';
import { IngestWriter, type IngestContext } from './writer.js';

export { thumbnailPath, type IngestContext } from './writer.js';

export interface IngestOptions {
  /** Width the vectors are made at (default full). Narrow vectors can be refined later. */
  readonly width?: WidthSpec;
  readonly walk?: WalkOptions;
  /** Remove library entries whose files are gone from the given roots. */
  readonly prune?: boolean;
  /** Images per embedding batch (and per write). */
  readonly batch?: number;
  /** Files read and decoded at once. */
  readonly concurrency?: number;
  readonly decode?: Partial<Omit<DecodeOptions, 'inputSize' | 'inputChannels' | 'preprocess'>>;
  /** Who decodes and embeds (default: this process; `queuedStage` from queue/ for workers). */
  readonly stage?: StageFactory;
  readonly onProgress?: (p: IngestProgress) => void;
  /** Stop early (tests): after this many files have been handled. */
  readonly signal?: AbortSignal;
}

export interface IngestProgress {
  readonly total: number;
  /** Files handled: skipped, written or failed (a queued file once its result is written). */
  readonly done: number;
  /** Images embedded and written (by this process or by any worker). */
  readonly embedded: number;
  readonly errors: number;
}

export interface IngestSummary {
  readonly jobId: number;
  readonly files: number;
  readonly added: number;
  readonly duplicates: number;
  readonly unchanged: number;
  /** Files already in the library at that path that got a vector of this model (a new model). */
  readonly reembedded: number;
  readonly failed: number;
  readonly pruned: number;
  /**
   * With `prune`: folders (or entries) the walk could not read, whose library entries were kept
   * rather than dropped as gone (an unreadable folder is not an empty one).
   */
  readonly pruneSkipped: readonly string[];
  /**
   * Files the walk left out because their type cannot be decoded here (walk.ts UNDECODABLE), by
   * reason: how many, and one of them. Not counted in `files` or as failures.
   */
  readonly skipped: readonly { reason: string; files: number; example: string }[];
  /**
   * Vectors written: one per image embedded. Every file counts once in added, duplicates,
   * unchanged, reembedded or failed.
   */
  readonly embedded: number;
  /** Files whose queued job failed on every try (0 without a queue). */
  readonly deadLettered: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
  /** The first failures, for the summary (all are in the library's failures table). */
  readonly errors: { path: string; error: string }[];
}

export async function ingest(
  ctx: IngestContext,
  roots: readonly string[],
  o: IngestOptions = {},
): Promise<IngestSummary> {
  const { store, embedder } = ctx;
  const log = ctx.log ?? (() => {});
  const width = o.width ?? 1;
  const widthLabel = embedder.widthLabel(width);
  const concurrency = o.concurrency ?? 4;
  const decode: DecodeOptions = {
    ...DECODE_DEFAULTS,
    ...o.decode,
    inputSize: embedder.inputSize,
    inputChannels: embedder.inputChannels,
    preprocess: embedder.preprocess,
  };
  checkDecodeOptions(decode); // before any file is touched: a bad limit would fail them all
  const t0 = performance.now();
  let done = 0;
  let total = 0;
  let jobId = -1;
  let stage: EmbedStage | undefined;
  const writer = new IngestWriter(ctx, widthLabel, embedder.widthRank(width), () => {
    store.updateJob(jobId, { done: handled(), errors: writer.counts.failed });
    progress();
  });
  const { counts } = writer;
  // Files handed to workers are done once their results are written.
  const handled = () => done - (stage?.pending ?? 0);
  const progress = () =>
    o.onProgress?.({ total, done: handled(), embedded: counts.embedded, errors: counts.failed });
  const unreadable: string[] = [];
  const skipped = new Map<string, { files: number; example: string }>();
  const files = [
    ...walk(
      roots,
      o.walk ?? {},
      (path, err) => {
        unreadable.push(path);
        writer.noteError(path, err.message);
      },
      (path, reason) => {
        const s = skipped.get(reason);
        if (s) s.files++;
        else skipped.set(reason, { files: 1, example: path });
      },
    ),
  ];
  let pruneSkipped: string[] = [];
  total = files.length;
  jobId = store.startJob('ingest', files.length);

  const handle = async (f: FoundFile): Promise<void> => {
    const known = store.findPath(f.path);
    if (known && known.size === f.size && known.mtimeMs === f.mtimeMs) {
      if (writer.hasVector(known.imageId)) {
        counts.unchanged++;
        return;
      }
    }
    const failure = store.findFailure(f.path);
    // Unchanged and refused by the file itself or by a limit not raised since: not retried.
    if (
      failure &&
      failure.size === f.size &&
      failure.mtimeMs === f.mtimeMs &&
      !limitRaised(failure.limit, decode)
    ) {
      counts.failed++;
      return;
    }
    let bytes: Buffer;
    let hash: string;
    try {
      bytes = await readBytes(f.path, decode.maxBytes);
      hash = contentHash(bytes);
    } catch (err) {
      if (isFatal(err)) throw err; // out of file handles or memory: not this file's fault
      writer.fail(f, err);
      return;
    }
    const same = store.findImageByHash(hash);
    if (same && writer.hasVector(same.id)) {
      // Known content at a new path (a copy or a move) or a touched file: no decode needed.
      writer.transact(() => writer.link(f, same.id));
      if (known?.imageId === same.id) counts.unchanged++;
      else counts.duplicates++;
      return;
    }
    await stage!.submit({ file: f, hash, bytes });
  };

  try {
    stage = await (o.stage ?? localStage)({
      embedder,
      width,
      widthLabel,
      decode,
      batch: o.batch ?? 32,
      writer,
      ...(o.signal ? { signal: o.signal } : {}),
      log,
    });
    await runLanes(files, concurrency, handle, {
      stop: () => Boolean(o.signal?.aborted) || stage!.failed,
      // One settle at a time, in order: it hands the decoded batch on when it is full.
      after: async () => {
        done++;
        await stage!.settle();
        progress();
      },
    });
    await stage.finish();
    if (o.prune && !o.signal?.aborted) pruneSkipped = prune(ctx, writer, files, unreadable);
    ctx.index.save();
    store.updateJob(jobId, { done, errors: counts.failed });
    store.finishJob(jobId, o.signal?.aborted ? 'interrupted' : 'done');
  } catch (err) {
    const e = explainFatal(err, dirname(ctx.thumbsDir));
    // On a full disk these can fail too (the next open repairs the index and marks the job
    // interrupted): the error the caller sees stays the first one.
    for (const cleanUp of [
      () => ctx.index.save(),
      () => store.finishJob(jobId, 'failed', (e as Error).message),
    ]) {
      try {
        cleanUp();
      } catch {
        // already failing
      }
    }
    throw e;
  } finally {
    await stage?.close();
  }
  progress();
  const seconds = (performance.now() - t0) / 1000;
  log(`ingested ${files.length} files in ${seconds.toFixed(1)} s`);
  return {
    jobId,
    files: files.length,
    ...counts,
    pruneSkipped,
    skipped: [...skipped].map(([reason, s]) => ({ reason, ...s })),
    seconds,
    imagesPerSecond: counts.embedded / Math.max(seconds, 1e-9),
    errors: writer.errors,
  };
}

/**
 * Handles `items` in `lanes` concurrent lanes, each taking the next item as soon as its last one
 * is done: no barrier per group, so one slow file never idles the other lanes (and their
 * decoders). `after` runs once per item, one call at a time, in completion order. The first
 * failure stops every lane from taking more; it is thrown once all lanes have stopped, so no
 * file is still being written when the caller cleans up.
 */
export async function runLanes<T>(
  items: readonly T[],
  lanes: number,
  handle: (item: T) => Promise<void>,
  o: { stop: () => boolean; after: () => Promise<void> },
): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  let chain = Promise.resolve();
  const lane = async () => {
    try {
      while (!failed && next < items.length && !o.stop()) {
        await handle(items[next++]!);
        await (chain = chain.then(o.after));
      }
    } catch (err) {
      if (!failed) failure = err;
      failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));
  if (failed) throw failure;
}

/**
 * Drops library paths (and records of failures) under the walked roots that the walk no longer
 * found, except under what it could not read (`unreadable`); returns the unreadable paths that
 * kept entries.
 */
function prune(
  ctx: IngestContext,
  writer: IngestWriter,
  files: readonly FoundFile[],
  unreadable: readonly string[],
): string[] {
  const { store } = ctx;
  const log = ctx.log ?? (() => {});
  const seen = new Set(files.map((f) => f.path));
  const rootsSeen = new Set(files.map((f) => f.root));
  const kept = new Set<string>();
  /** True when `path` was found, or lies at or under a path the walk could not read. */
  const keep = (path: string) => {
    if (seen.has(path)) return true;
    const under = unreadable.find((u) => path === u || path.startsWith(u + sep));
    if (under !== undefined) kept.add(under);
    return under !== undefined;
  };
  for (const root of rootsSeen) {
    for (const p of store.pathsUnder(root)) {
      if (keep(p.path)) continue;
      writer.transact(() => writer.dropPath(p.path));
      writer.counts.pruned++;
    }
    for (const fl of store.failuresUnder(root)) if (!keep(fl.path)) store.clearFailure(fl.path);
    for (const d of store.deadLettersUnder(root)) if (!keep(d.path)) store.clearDeadLetter(d.path);
  }
  for (const u of kept) log(`prune: kept the library's entries under ${u}: it could not be read`);
  return [...kept];
}
