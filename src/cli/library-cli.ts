/**
 * What the library commands share: the common flags, opening the library with its encoder, and
 * the search options and output.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Embedder } from '../embed/embedder.js';
import { openEmbedder, openTfjsEmbedder, resolveModelDir } from '../embed/open.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { untrainedWidthMessage } from '../model/trained-widths.js';
import type { Library } from '../library.js';
import type { WidthSpec } from '../model/widths.js';
import type { Precision } from '../runtime/quantize.js';
import type { SearchOptions } from '../search/searcher.js';
import type { SearchResponseJson } from '../wire.js';

export const common = {
  library: { type: 'string', short: 'l' },
  model: { type: 'string', short: 'm' },
  json: { type: 'boolean', default: false },
  precision: { type: 'string' },
} as const;

/** The usage of `common`, for each command's help (test/cli/help.test.ts checks them all). */
export const COMMON_USAGE = '[--library DIR] [--model DIR] [--precision fp32|int8] [--json]';

export function libraryDir(v: Record<string, unknown>): string {
  return resolve(
    (v['library'] as string | undefined) ?? process.env['MATSEARCH_LIBRARY'] ?? './matsearch-data',
  );
}

/**
 * Opens the library for a command. Only `create` (ingest) may start a new one: any other command
 * on a folder without a library would leave an empty one behind and answer as if it were empty.
 * `light`: the model's tfjs twin, with no encoder worker threads, for a process that never embeds
 * (a queued ingest: the workers embed). `warm`: a width whose encoder session starts loading at
 * once, while the library opens.
 */
export async function withLibrary<T>(
  v: Record<string, unknown>,
  fn: (lib: Library) => Promise<T> | T,
  o: { create?: boolean; light?: boolean; readOnly?: boolean; warm?: WidthSpec } = {},
): Promise<T> {
  const libDir = libraryDir(v);
  // Checked before the model loads: the answer is the same whatever the model.
  if (!o.create && !existsSync(join(libDir, 'matsearch.db')))
    throw new NotFoundError(
      `no library at ${libDir}; run \`matsearch ingest\` first, or pass --library`,
    );
  const dir = resolveModelDir(v['model'] as string | undefined);
  const precision = v['precision'] as Precision | undefined;
  const embedder: Embedder = o.light
    ? await openTfjsEmbedder(dir)
    : await openEmbedder(dir, undefined, precision ? { precision } : {});
  const quiet = Boolean(v['json']);
  try {
    if (o.warm !== undefined) embedder.warm?.(o.warm);
    // Imported after the encoder's worker thread started, so the two load side by side.
    const { Library } = await import('../library.js');
    const lib = Library.open(libDir, {
      embedder,
      readOnly: o.readOnly ?? false,
      log: quiet ? () => {} : (m) => console.error(m),
    });
    try {
      return await fn(lib);
    } finally {
      lib.close();
    }
  } finally {
    await embedder.close(); // also when the library failed to open or close: its threads stop
  }
}

/** --strict: refuse a width the model was not trained at, rather than warn. */
export const strictFlag = { strict: { type: 'boolean', default: false } } as const;

/**
 * A width the model was not trained at (model/trained-widths.ts) runs, but badly: a warning on
 * stderr, or with --strict a refusal, before the library or the model opens.
 */
export function checkTrainedWidth(v: Record<string, unknown>, spec: WidthSpec | 'auto'): void {
  if (spec === 'auto') return;
  const msg = untrainedWidthMessage(resolveModelDir(v['model'] as string | undefined), spec);
  if (msg === null) return;
  if (v['strict']) throw new ValidationError(msg);
  console.error(`warning: ${msg} (--strict refuses it)`);
}

/** Commands that only read: they never rewrite the index files. */
export const READ_ONLY = { readOnly: true } as const;

/** An image id given as a number, or the id of a library path. */
export function imageIdOf(lib: Library, key: string): number | undefined {
  return /^\d+$/.test(key) ? Number(key) : lib.store.findPath(resolve(key))?.imageId;
}

export function num(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new ValidationError(`--${name} must be a number, got '${String(v)}'`);
  return n;
}

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function searchOptions(v: Record<string, unknown>): SearchOptions {
  const width = v['width'] as string | undefined;
  const rerank = (v['rerank'] as string | undefined) ?? 'full';
  if (rerank !== 'full' && rerank !== 'none')
    throw new ValidationError(`--rerank must be full or none, got '${rerank}'`);
  const k = num(v['k'], 'k');
  const budgetMs = num(v['budget-ms'], 'budget-ms');
  const shortlist = num(v['shortlist'], 'shortlist');
  const minScore = num(v['min-score'], 'min-score');
  return {
    ...(width ? { width: width === 'auto' ? 'auto' : width } : {}),
    ...(k !== undefined ? { k } : {}),
    ...(budgetMs !== undefined ? { budgetMs } : {}),
    ...(shortlist !== undefined ? { shortlist } : {}),
    ...(minScore !== undefined ? { minScore } : {}),
    rerank,
    ...(v['refine'] ? { refine: true } : {}),
    ...(v['no-dedupe'] ? { dedupe: false as const } : {}),
  };
}

/** The usage of `searchFlags`. */
export const SEARCH_USAGE =
  '[--width 1|1/2|1/4|1/8|SPEC|auto] [--budget-ms N] [--k N] [--shortlist N] [--rerank full|none] [--refine] [--min-score X] [--no-dedupe]';

export const searchFlags = {
  width: { type: 'string', short: 'w' },
  'budget-ms': { type: 'string' },
  k: { type: 'string', short: 'k' },
  shortlist: { type: 'string' },
  rerank: { type: 'string' },
  refine: { type: 'boolean', default: false },
  'min-score': { type: 'string' },
  'no-dedupe': { type: 'boolean', default: false },
} as const;

/** A search answer in the wire format (src/wire.ts): as one JSON document, or a table. */
export function printSearch(r: SearchResponseJson, json: boolean) {
  if (json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  console.log(
    table(
      ['#', 'score', 'id', 'path'],
      r.results.map((h, i) => [i + 1, h.score.toFixed(4), h.id, h.path ?? '']),
    ),
  );
  const t = r.timings_ms;
  console.log(
    `\nquery width ${r.widths.query}, rerank ${r.widths.rerank ?? 'off'}, shortlist ${r.shortlist}; ` +
      `encode ${t.encode.toFixed(1)} ms` +
      (r.refined ? `, refine encode ${t.refine_encode.toFixed(1)} ms` : '') +
      `, coarse ${t.coarse.toFixed(2)} ms, rerank ${t.rerank.toFixed(2)} ms, total ${t.total.toFixed(1)} ms` +
      (r.deduped ? `; ${r.deduped} near-duplicate(s) left out (--no-dedupe keeps them)` : ''),
  );
}
