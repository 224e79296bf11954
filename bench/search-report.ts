/**
 * The Markdown of the search benchmark: the table of every size and engine, the usearch/hnswlib
 * ratios measured side by side in the same run, and the "Which engine" verdict derived from them.
 */
import { mdTable } from './util.js';

export interface SearchRow {
  /** Database and indexes kept from a previous run (`--reuse`): insert and build are its figures. */
  readonly reused?: boolean;
  readonly vectors: number;
  readonly engine: string;
  readonly index: string;
  readonly insertS: number;
  /** Build from the database, save included. */
  readonly buildS: number;
  /** RSS growth over the build, after garbage collection. */
  readonly rssMb: number;
  /** The saved index and its sidecars. */
  readonly fileMb: number;
  readonly coarseP50: number;
  readonly coarseP95: number;
  readonly coarseP99: number;
  readonly rerankP50: number;
  readonly rerankP99: number;
  readonly totalP50: number;
  readonly totalP95: number;
  readonly totalP99: number;
  /** Two-stage (1/4-width coarse, full-width rerank) recall@10 against exact full-width search. */
  readonly recallAt10: number;
  /** The engine alone: its top 10 for the full-width query against the exact top 10. */
  readonly annRecallAt10: number;
  readonly recallQueries: number;
  /** Queries per second through the whole Searcher, one at a time. */
  readonly qps: number;
  readonly workerCoarseP50?: number;
  readonly workerCoarseP99?: number;
  /** Coarse + rerank with the index in a worker thread. */
  readonly workerTotalP50?: number;
  readonly workerTotalP99?: number;
}

interface SearchResult {
  readonly dim: number;
  readonly queries: number;
  /** "real: MODEL-ID" when the stored vectors are real embeddings (absent: synthetic). */
  readonly vectors?: string;
  readonly machine: { cpu: string; cores: number; node: string; date: string; load?: number };
  readonly rows: SearchRow[];
}

/** usearch replaces hnswlib only if, at every size, it is this much faster at equal recall. */
const CLEAR_WIN = 0.8;
/** Engine recalls within this count as equal. */
const RECALL_TOLERANCE = 0.005;

const ratio = (a: number, b: number) => (b > 0 ? +(a / b).toFixed(2) : NaN);

export function searchReport(r: SearchResult): string {
  const m = r.machine;
  const head =
    (r.vectors
      ? `# Search pipeline on real embeddings (${r.dim}-d, ${r.vectors.slice(6)})\n\n`
      : `# Search pipeline on synthetic vectors (${r.dim}-d)\n\n`) +
    `${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}` +
    (m.load === undefined ? '' : `, load average ${m.load} at the end`) +
    `; the machine is shared with other jobs at times, so compare engines by the ratios below, ` +
    `measured side by side (each query ran on every engine back to back). ` +
    `${r.queries} queries per size. ` +
    (r.vectors
      ? `Stored vectors are full-width embeddings of augmented views of the bundled emoji; a ` +
        `query is another view embedded once at width 1/4, which both stages use (coarse on the ` +
        `engine's stored kind, then exact rescoring against the stored float vectors). ` +
        `"two-stage recall" is the final top 10 against exact search with that same query ` +
        `vector, so it measures what the coarse stage loses; "engine recall" is the engine's own ` +
        `top 10 against the same truth. `
      : `A query's 1/4-width vector (a noisier one) goes to both stages: the coarse stage, then ` +
        `exact rescoring against the stored full-width vectors. "two-stage recall" is the final ` +
        `top 10 against exact search with the full-width query; "engine recall" is the engine's ` +
        `own top 10 for the full-width query. `) +
    `Times exclude encoding. Both engines use the same graph settings (M / connectivity 32, ` +
    `efConstruction / expansion_add 200, ef / expansion_search 400); usearch stores the kind ` +
    `after its colon (f32 without one). "worker coarse" is the coarse stage with the saved index loaded in ` +
    `a worker thread (\`thread: 'worker'\`, what a server uses); "worker total" adds the rerank ` +
    `to it. The rerank reads the shortlist's vectors from the index's memory where the engine ` +
    `keeps them (hnswlib), else from the database (usearch).\n\n`;
  const table = mdTable(
    [
      'vectors',
      'engine',
      'build s',
      'RSS MB',
      'file MB',
      'coarse p50/p95/p99 ms',
      'total p50/p95/p99 ms',
      'two-stage recall@10',
      'engine recall@10',
      'queries/s',
      'worker coarse p50/p99 ms',
      'worker total p50/p99 ms',
    ],
    r.rows.map((x) => [
      x.vectors,
      x.engine,
      x.reused ? `${x.buildS} (earlier run)` : x.buildS,
      x.rssMb,
      x.fileMb,
      `${x.coarseP50} / ${x.coarseP95} / ${x.coarseP99}`,
      `${x.totalP50} / ${x.totalP95} / ${x.totalP99}`,
      x.recallQueries < r.queries ? `${x.recallAt10} (${x.recallQueries} q)` : x.recallAt10,
      x.annRecallAt10,
      x.qps,
      x.workerCoarseP50 === undefined ? '-' : `${x.workerCoarseP50} / ${x.workerCoarseP99}`,
      x.workerTotalP50 === undefined ? '-' : `${x.workerTotalP50} / ${x.workerTotalP99}`,
    ]),
  );
  return head + table + '\n' + whichEngine(r.rows);
}

function whichEngine(rows: SearchRow[]): string {
  const sizes = [...new Set(rows.map((x) => x.vectors))];
  const pairs = sizes
    .map((n) => ({
      n,
      h: rows.find((x) => x.vectors === n && x.engine === 'hnswlib'),
      u: rows.find((x) => x.vectors === n && x.engine === 'usearch'),
    }))
    .filter((p): p is { n: number; h: SearchRow; u: SearchRow } => !!p.h && !!p.u);
  let md = '## Which engine\n\n';
  if (pairs.length === 0)
    return md + 'Run with `--engines hnswlib,usearch` to compare the two engines.\n';
  const cmp = pairs.map(({ n, h, u }) => {
    const equalRecall = u.annRecallAt10 >= h.annRecallAt10 - RECALL_TOLERANCE;
    const c50 = ratio(u.coarseP50, h.coarseP50);
    const c95 = ratio(u.coarseP95, h.coarseP95);
    return {
      n,
      h,
      u,
      c50,
      c95,
      c99: ratio(u.coarseP99, h.coarseP99),
      t50: ratio(u.totalP50, h.totalP50),
      build: ratio(u.buildS, h.buildS),
      mem: ratio(u.rssMb, h.rssMb),
      equalRecall,
      wins: equalRecall && c50 <= CLEAR_WIN && c95 <= CLEAR_WIN,
    };
  });
  md +=
    'usearch / hnswlib, same run (below 1: usearch is faster or smaller):\n\n' +
    mdTable(
      [
        'vectors',
        'coarse p50',
        'coarse p95',
        'coarse p99',
        'total p50',
        'build',
        'RSS',
        'engine recall@10 hnswlib / usearch',
        'two-stage recall@10 hnswlib / usearch',
      ],
      cmp.map((c) => [
        c.n,
        c.c50,
        c.c95,
        c.c99,
        c.t50,
        c.build,
        c.mem,
        `${c.h.annRecallAt10} / ${c.u.annRecallAt10}`,
        `${c.h.recallAt10} / ${c.u.recallAt10}`,
      ]),
    ) +
    '\n';
  const rule =
    `The rule: usearch becomes the default only if, at every size, its engine recall is within ` +
    `${RECALL_TOLERANCE} of hnswlib's and its coarse p50 and p95 are both at most ${CLEAR_WIN}x ` +
    `hnswlib's.`;
  const lines = cmp.map(
    (c) =>
      `- ${c.n} vectors: coarse p50 ${c.u.coarseP50} vs ${c.h.coarseP50} ms (${c.c50}x), p95 ` +
      `${c.u.coarseP95} vs ${c.h.coarseP95} ms (${c.c95}x), engine recall ${c.u.annRecallAt10} vs ` +
      `${c.h.annRecallAt10}${c.equalRecall ? '' : ' (lower)'}: ${c.wins ? 'a clear win for usearch' : 'no clear win'}.`,
  );
  const verdict = cmp.every((c) => c.wins)
    ? '**Verdict: usearch wins clearly at every size measured; make it the default** ' +
      "(`LibraryIndexOptions.engine: 'usearch'`)."
    : '**Verdict: hnswlib stays the default** (`LibraryIndexOptions.engine`, default ' +
      "`'hnswlib'`); usearch remains available with `engine: 'usearch'`.";
  const rerank =
    'The rule compares the engines, so it looks at the coarse stage. "total" also holds the ' +
    "rerank, whose vectors come from different places: from hnswlib's memory (hnswlib-node hands " +
    'a vector back as a JS array, about 25 µs each, so about 2.5 ms for a shortlist of 100) and ' +
    'from the database for usearch (whose binding cannot read vectors back). With the database ' +
    'freshly written and in the page cache, as here, that read is the faster of the two; with ' +
    'most of it on disk, as in the 1M run (search-1m.md), the database read took 14.6 ms at p50 ' +
    'and 30 ms at p99 against 2.1 and 3.7 ms from memory, which is why memory is used wherever ' +
    'the engine has the vectors.';
  return md + rule + '\n\n' + lines.join('\n') + '\n\n' + verdict + '\n\n' + rerank + '\n';
}
