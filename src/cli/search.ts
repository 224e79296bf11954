/**
 * `matsearch search`: one or many query images against the library, with the model loaded once.
 * With --json each query writes one JSON line (its path, then the search response, or an error),
 * so scripts and evaluations pay the start-up once for a whole list.
 */
import { existsSync, readFileSync } from 'node:fs';
import { MatsearchError, ValidationError } from '../errors.js';
import type { Library } from '../library.js';
import type { SearchOptions } from '../search/searcher.js';
import { searchJson } from '../wire-json.js';
import type { SearchLineJson, SearchResponseJson } from '../wire.js';
import type { Command } from './main.js';
import {
  checkTrainedWidth,
  common,
  COMMON_USAGE,
  printSearch,
  READ_ONLY,
  SEARCH_USAGE,
  searchFlags,
  searchOptions,
  strictFlag,
  withLibrary,
} from './library-cli.js';

/** Query paths from a list file ('-': stdin): one a line; blank lines and '#' comments skipped. */
export function readQueryList(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read the query list ${file}: ${(err as Error).message}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

/** One query's outcome: its response, or the error that stopped it (the others still run). */
type Outcome = { query: string } & (
  { response: SearchResponseJson } | { error: { code: string; message: string } }
);

export const searchCommand: Command = {
  summary: 'search the library with one or more image files (the model loads once)',
  usage:
    `<image...> [--from LIST] ${COMMON_USAGE} ${SEARCH_USAGE} [--strict]\n\n` +
    '--from LIST reads more query paths from a file (one a line; - for stdin). With --json each\n' +
    'query writes one line: {"query": PATH, ...response}, or {"query": PATH, "error": {...}}.\n' +
    'A width the model was not trained at warns; --strict refuses it.',
  options: { ...common, ...searchFlags, ...strictFlag, from: { type: 'string' } },
  async run(v, args) {
    const from = v['from'] as string | undefined;
    const files = [...args, ...(from ? readQueryList(from) : [])];
    if (files.length === 0)
      throw new ValidationError('give the query image file(s) or --from LIST');
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0)
      throw new ValidationError(
        `no such file: ${missing.slice(0, 3).join(', ')}` +
          (missing.length > 3 ? ` and ${missing.length - 3} more` : ''),
      );
    const json = Boolean(v['json']);
    const opts = searchOptions(v);
    checkTrainedWidth(v, opts.width ?? 1);
    const warm = opts.width === 'auto' ? undefined : (opts.width ?? 1);
    let failed = 0;
    await withLibrary(
      v,
      async (lib) => {
        for (const query of files) {
          const out = await searchOne(query, () => timedSearch(lib, query, opts), files.length > 1);
          if ('error' in out) failed++;
          if (json) console.log(JSON.stringify(outcomeJson(out)));
          else if ('response' in out) {
            if (files.length > 1) console.log(`\n== ${query}`);
            printSearch(out.response, false);
          } else console.error(`${query}: ${out.error.message}`);
        }
      },
      { ...READ_ONLY, ...(warm !== undefined ? { warm } : {}) },
    );
    if (failed > 0) throw new ValidationError(`${failed} of ${files.length} queries failed`);
  },
};

/**
 * Runs one query. A user error (an undecodable file) becomes this query's outcome when it is one
 * of several; alone, or for any other failure, it propagates (and sets the exit status).
 */
async function searchOne(
  query: string,
  search: () => Promise<SearchResponseJson>,
  many: boolean,
): Promise<Outcome> {
  try {
    return { query, response: await search() };
  } catch (err) {
    if (!many || !(err instanceof MatsearchError) || err.code === 'E_BACKEND') throw err;
    return { query, error: { code: err.code, message: err.message } };
  }
}

/** One line of the output: a SearchLine (src/wire.ts), the query path first. */
function outcomeJson(o: Outcome): SearchLineJson {
  return 'response' in o ? { query: o.query, ...o.response } : o;
}

/** A file query in the wire format: reading and decoding the file is its `decode` time. */
async function timedSearch(
  lib: Library,
  file: string,
  opts: SearchOptions,
): Promise<SearchResponseJson> {
  const t0 = performance.now();
  const r = await lib.searchFile(file, opts);
  const totalMs = performance.now() - t0;
  const decodeMs = Math.max(0, totalMs - r.timings.total);
  return searchJson(r, { queueMs: 0, decodeMs, totalMs });
}
