/**
 * The library commands: ingest, refine, similar, dupes, stats, reindex, remove (search.ts: search).
 * Each is a thin layer over the Library API: parse options, call, print a table or JSON.
 */
import { existsSync } from 'node:fs';
import type { Command } from './main.js';
import { ValidationError } from '../errors.js';
import { Progress } from '../util/progress.js';
import { ingestJson, searchJson, statsJson } from '../wire-json.js';
import type { CliStatsJson, DupeGroupsJson } from '../wire.js';
import {
  checkTrainedWidth,
  common,
  COMMON_USAGE,
  imageIdOf,
  num,
  printSearch,
  READ_ONLY,
  SEARCH_USAGE,
  searchFlags,
  searchOptions,
  strictFlag,
  table,
  withLibrary,
} from './library-cli.js';
import type { StageFactory } from '../../ingest/stage.js';
import { MAX_DECODE_TIMEOUT_MS } from '../../ingest/decode.js';

const queueFlags = {
  queue: { type: 'string' },
  'queue-name': { type: 'string' },
} as const;

function queueAddress(v: Record<string, unknown>) {
  const url = v['queue'] as string | undefined;
  const name = v['queue-name'] as string | undefined;
  return url ? { url, ...(name ? { name } : {}) } : undefined;
}

/** With --queue, the stage that hands decoding and embedding to workers (bullmq loads only then). */
async function queueStage(v: Record<string, unknown>): Promise<StageFactory | undefined> {
  const address = queueAddress(v);
  if (!address) return undefined;
  const attempts = num(v['attempts'], 'attempts');
  const backoffMs = num(v['backoff-ms'], 'backoff-ms');
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1))
    throw new ValidationError(`--attempts must be a positive integer, got ${attempts}`);
  const { queuedStage } = await import('../../queue/producer.js');
  return queuedStage({
    ...address,
    ...(attempts !== undefined ? { attempts } : {}),
    ...(backoffMs !== undefined ? { backoffMs } : {}),
  });
}

async function queueStats(v: Record<string, unknown>) {
  const address = queueAddress(v);
  if (!address) return undefined;
  const { queueStatus } = await import('../../queue/status.js');
  return queueStatus(address);
}

export const ingestCommand: Command = {
  summary: 'add folders or files of images to the library (incremental; resumable)',
  usage: `<paths...> ${COMMON_USAGE} [--width W] [--include GLOB] [--exclude GLOB] [--prune] [--hidden] [--max-pixels N] [--decode-timeout SECONDS] [--batch N] [--strict] [--queue redis://HOST:PORT [--queue-name NAME] [--attempts N] [--backoff-ms MS]]`,
  options: {
    ...common,
    ...queueFlags,
    ...strictFlag,
    attempts: { type: 'string' },
    'backoff-ms': { type: 'string' },
    width: { type: 'string', short: 'w' },
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    prune: { type: 'boolean', default: false },
    hidden: { type: 'boolean', default: false },
    'max-pixels': { type: 'string' },
    'decode-timeout': { type: 'string' },
    batch: { type: 'string' },
  },
  async run(v, paths) {
    if (paths.length === 0)
      throw new ValidationError('give one or more folders or files to ingest');
    for (const p of paths)
      if (!existsSync(p)) throw new ValidationError(`no such file or folder: ${p}`);
    const json = Boolean(v['json']);
    checkTrainedWidth(v, (v['width'] as string | undefined) ?? 1);
    const stage = await queueStage(v);
    const summary = await withLibrary(
      v,
      async (lib) => {
        let bar: Progress | null = null;
        const maxPixels = num(v['max-pixels'], 'max-pixels');
        const batch = num(v['batch'], 'batch');
        const timeoutS = num(v['decode-timeout'], 'decode-timeout');
        const maxS = Math.floor(MAX_DECODE_TIMEOUT_MS / 1000);
        if (timeoutS !== undefined && (timeoutS < 0 || timeoutS > maxS))
          throw new ValidationError(
            `--decode-timeout must be 0 (none) to ${maxS} seconds, got ${timeoutS}`,
          );
        const decode = {
          ...(maxPixels !== undefined ? { maxPixels } : {}),
          ...(timeoutS !== undefined ? { timeoutMs: timeoutS * 1000 } : {}),
        };
        const s = await lib.ingest(paths, {
          width: (v['width'] as string | undefined) ?? 1,
          walk: {
            include: (v['include'] as string[]) ?? [],
            exclude: (v['exclude'] as string[]) ?? [],
            hidden: Boolean(v['hidden']),
          },
          prune: Boolean(v['prune']),
          ...(batch !== undefined ? { batch } : {}),
          ...(stage ? { stage } : {}),
          decode,
          onProgress: json
            ? undefined
            : (p) => {
                bar ??= new Progress(p.total, 'files');
                bar.update(p.done, p.embedded, 'img', `${p.errors} errors`);
              },
        });
        (bar as Progress | null)?.done();
        return s;
      },
      { create: true, light: stage !== undefined },
    );
    if (json) {
      console.log(JSON.stringify(ingestJson(summary), null, 2));
      return;
    }
    console.log(
      `${summary.files} files: ${summary.added} added, ${summary.duplicates} duplicates or moves, ` +
        `${summary.unchanged} unchanged, ` +
        (summary.reembedded ? `${summary.reembedded} re-embedded with this model, ` : '') +
        `${summary.failed} failed, ${summary.pruned} pruned; ` +
        (summary.deadLettered ? `${summary.deadLettered} dead-lettered; ` : '') +
        `${summary.embedded} embedded in ${summary.seconds.toFixed(1)} s (${summary.imagesPerSecond.toFixed(1)} images/s)`,
    );
    for (const e of summary.errors) console.log(`  ${e.path}: ${e.error}`);
    for (const s of summary.skipped)
      console.log(`skipped ${s.files} file(s) such as ${s.example}: ${s.reason}`);
    if (summary.pruneSkipped.length > 0)
      console.log(
        `not pruned (could not be read, entries kept): ${summary.pruneSkipped.join(', ')}`,
      );
  },
};

export const refineCommand: Command = {
  summary: 'upgrade vectors made at a narrower width to full width',
  usage: COMMON_USAGE,
  options: { ...common },
  async run(v) {
    const r = await withLibrary(v, (lib) => lib.refine());
    console.log(
      v['json']
        ? JSON.stringify(r)
        : `refined ${r.refined} of ${r.total} images to full width (${r.failed} unreadable)`,
    );
  },
};

export const similarCommand: Command = {
  summary: 'images most like one already in the library (by id or path), no encoding',
  usage: `<id|path> ${COMMON_USAGE} ${SEARCH_USAGE}`,
  options: { ...common, ...searchFlags },
  async run(v, args) {
    const key = args[0];
    if (!key) throw new ValidationError('give an image id or a path in the library');
    const r = await withLibrary(
      v,
      (lib) => {
        const id = imageIdOf(lib, key);
        if (id === undefined) throw new ValidationError(`${key} is not in the library`);
        return lib.similar(id, searchOptions(v));
      },
      READ_ONLY,
    );
    // No file to read: the search is the whole of it.
    const t = { queueMs: 0, decodeMs: 0, totalMs: r.timings.total };
    printSearch(searchJson(r, t), Boolean(v['json']));
  },
};

export const dupesCommand: Command = {
  summary: 'list groups of near-duplicate images',
  usage: `${COMMON_USAGE} [--threshold 0.99]`,
  options: { ...common, threshold: { type: 'string' } },
  async run(v) {
    const groups = await withLibrary(
      v,
      (lib) => lib.dupes(num(v['threshold'], 'threshold') ?? 0.99),
      READ_ONLY,
    );
    if (v['json']) return console.log(JSON.stringify(groups satisfies DupeGroupsJson, null, 2));
    groups.forEach((g, i) =>
      console.log(`group ${i + 1} (${g.ids.length}):\n${g.paths.map((p) => `  ${p}`).join('\n')}`),
    );
    console.log(`${groups.length} group(s)`);
  },
};

export const statsCommand: Command = {
  summary: 'what the library holds (and, with --queue, the queue and its workers)',
  usage: `${COMMON_USAGE} [--queue redis://HOST:PORT [--queue-name NAME]]`,
  options: { ...common, ...queueFlags },
  async run(v) {
    const s = await withLibrary(v, (lib) => lib.stats(), READ_ONLY);
    const q = await queueStats(v);
    if (v['json']) {
      const out: CliStatsJson = { ...statsJson(s), ...(q ? { queue: q } : {}) };
      return console.log(JSON.stringify(out, null, 2));
    }
    console.log(
      `images ${s.images}, failed files ${s.failures}, index ${s.index.kind} of ${s.index.size}, model ${s.modelId}`,
    );
    console.log(
      table(
        ['model', 'width', 'vectors'],
        s.vectors.map((x) => [x.modelId, x.width, x.count]),
      ),
    );
    if (s.otherModelOnly > 0)
      console.log(
        `${s.otherModelOnly} image(s) need re-embedding with this model (run ingest again)`,
      );
    if (s.deadLetters.count > 0) {
      console.log(
        `\ndead letters: ${s.deadLetters.count} queued file(s) failed on every try (latest first)`,
      );
      console.log(
        table(
          ['path', 'tries', 'error'],
          s.deadLetters.recent.map((d) => [d.path, d.attempts, d.error]),
        ),
      );
    }
    if (q) {
      console.log(
        `\nqueue ${q.name} at ${q.url}: ${q.waiting} waiting, ${q.active} active, ${q.delayed} delayed ` +
          `(retrying), ${q.completed} results to write, ${q.failed} failed; ${q.workers.length} worker(s)` +
          (q.workers.length ? `: ${q.workers.join(', ')}` : ''),
      );
    }
  },
};

export const reindexCommand: Command = {
  summary: 'rebuild the search index from the database',
  usage:
    `${COMMON_USAGE} [--coarse hnswlib|usearch|usearch:f16|usearch:i8|usearch:b1]\n\n` +
    "--coarse records the library's coarse index and rebuilds it: hnswlib (default) and usearch\n" +
    'keep float vectors; usearch:f16, :i8 and :b1 store them in 1/2, 1/4 and 1/32 of the space.\n' +
    'Results are always rescored exactly with the stored vectors (docs/bench/search.md).',
  options: { ...common, coarse: { type: 'string' } },
  async run(v) {
    const coarse = v['coarse'] as string | undefined;
    if (coarse !== undefined) await withLibrary(v, async (lib) => lib.setCoarse(coarse));
    const r = await withLibrary(v, (lib) => lib.reindex());
    console.log(v['json'] ? JSON.stringify(r) : `rebuilt the ${r.kind} index: ${r.size} vectors`);
  },
};

export const removeCommand: Command = {
  summary: 'remove images from the library (by id or path); files on disk are untouched',
  usage: `<id|path...> ${COMMON_USAGE}`,
  options: { ...common },
  async run(v, args) {
    if (args.length === 0) throw new ValidationError('give image ids or paths to remove');
    const removed = await withLibrary(v, (lib) =>
      args.map((key) => {
        const id = imageIdOf(lib, key);
        return { key, removed: id !== undefined && lib.remove(id) };
      }),
    );
    if (v['json']) return console.log(JSON.stringify(removed));
    for (const r of removed)
      console.log(`${r.key}: ${r.removed ? 'removed' : 'not in the library'}`);
  },
};
