/**
 * Search pipeline at scale on synthetic vectors, one row per size and engine: index build time
 * and memory, coarse-stage and total (coarse + rerank) latency percentiles, recall@10 of the
 * two-stage result and of the engine alone against exact full-width search, and queries/s.
 *   npm run bench -- search [--sizes 10000,100000,1000000] [--engines hnswlib,usearch,usearch:i8]
 *                           [--dim 128] [--queries 200] [--recall-queries N] [--no-worker]
 *                           [--reuse] [--vectors synthetic|real] [--model DIR]
 *
 * An engine is `hnswlib` or `usearch[:f32|f16|i8|b1]`, the second part usearch's stored scalar
 * kind: the quantized coarse stages, whose shortlist the exact rerank then rescores.
 *
 * Vectors are clustered (centres + noise, like real embeddings; isotropic noise is the worst case
 * and is covered by the index tests). A query is a stored vector plus noise; its "narrow width"
 * version adds more noise (cos ~0.95 to the full one), as a cheaper submodel's vector would.
 *
 * The machine is shared (training runs beside it), so engines are compared side by side: every
 * engine of a size is built over the same database and kept open, and each query runs on all of
 * them back to back (order alternating), so load changes hit them alike. Then each saved index is
 * loaded into a worker thread (`thread: 'worker'`) and the queries run again, to price the worker.
 * Exact truth costs n x dim per query, so at large sizes it is computed for the first
 * `--recall-queries` queries only (default: as many as keep n x queries <= 1e8).
 * `--vectors real` stores real embeddings instead (bench/real-vectors.ts: augmented views of the
 * bundled emoji, embedded at full width by `--model`, the shipped one by default), and queries
 * are other views embedded once at width 1/4. Its truth is exact search with that same query
 * vector, so recall measures what the coarse stage (and its quantization) loses, nothing else.
 * `--reuse` keeps the database and saved indexes a previous run left in `--dir` (the vectors are
 * regenerated from the same seed, not rewritten), so a search change is re-measured at 1M
 * without a 20-minute rebuild; insert and build figures then come from that previous report.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Store } from '../src/store/store.js';
import { indexFiles, parseCoarse, type IndexKind } from '../index/engines.js';
import { LibraryIndex, slug } from '../index/library-index.js';
import { Searcher } from '../src/search/searcher.js';
import type { Embedder } from '../src/embed/embedder.js';
import { ValidationError } from '../src/errors.js';
import { Rng } from '../src/util/rng.js';
import { machine, writeReport } from './util.js';
import { realVectors } from './real-vectors.js';
import { resolveModelDir } from '../src/embed/open.js';
import { searchReport, type SearchRow } from './search-report.js';

const MODEL = 'synthetic@bench';

setFlagsFromString('--expose-gc');
/** Collects garbage, so a closed index's native memory is gone before the next RSS reading. */
const gc = runInNewContext('gc') as () => void;

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  return v.map((x) => x * inv);
}

/** Stands in for the encoder: the "image" is the query vector; narrow widths add noise. */
class VectorEmbedder implements Embedder {
  readonly modelId = MODEL;
  readonly inputSize = 1;
  readonly inputChannels = 1;
  private readonly rng = new Rng(99);
  /** `noisy`: narrow widths add noise to the input; otherwise the input is the query vector. */
  constructor(
    readonly dim: number,
    private readonly noisy = true,
  ) {}
  widthLabel(w: unknown): string {
    return String(w);
  }
  widthRank(w: unknown): number {
    return String(w) === '1' ? 1 : 0.25;
  }
  async embed(inputs: readonly Float32Array[], width: unknown): Promise<Float32Array[]> {
    return inputs.map((x) =>
      String(width) === '1' || !this.noisy
        ? unit(x)
        : unit(x.map((v) => v + (this.rng.normal() * 0.33) / Math.sqrt(this.dim))),
    );
  }
  async close() {}
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const r3 = (x: number) => +x.toFixed(3);
const rssMb = () => {
  gc();
  return process.memoryUsage().rss / 1e6;
};

/** Ids (1-based image ids) of the 10 stored vectors most similar to q: an exact scan. */
function exactTop10(data: Float32Array, n: number, dim: number, q: Float32Array): Set<number> {
  const best: { id: number; s: number }[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let j = 0; j < dim; j++) s += data[o + j]! * q[j]!;
    if (best.length === 10 && s <= best[9]!.s) continue;
    let pos = best.length === 10 ? 9 : best.length;
    while (pos > 0 && best[pos - 1]!.s < s) pos--;
    best.splice(pos, 0, { id: i + 1, s });
    if (best.length > 10) best.pop();
  }
  return new Set(best.map((b) => b.id));
}

/**
 * Fills the database with n clustered unit vectors; returns them flat, [n, dim]. Without a store
 * it only regenerates them (the same vectors for the same rng).
 */
function fill(store: Store | null, n: number, dim: number, rng: Rng): Float32Array {
  const data = synthetic(n, dim, rng);
  if (store) insertAll(store, data, n, dim);
  return data;
}

function synthetic(n: number, dim: number, rng: Rng): Float32Array {
  const centres = Array.from({ length: Math.max(10, Math.round(n / 200)) }, () =>
    Float32Array.from({ length: dim }, () => rng.normal()),
  );
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centres[rng.int(centres.length)]!;
    data.set(unit(c.map((x) => x + rng.normal() * 0.6)), i * dim);
  }
  return data;
}

/** Stores the flat [n, dim] vectors as images 1..n at full width. */
function insertAll(store: Store, data: Float32Array, n: number, dim: number): void {
  for (let s = 0; s < n; s += 10_000) {
    store.transaction(() => {
      for (let i = s; i < Math.min(n, s + 10_000); i++) {
        const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
        if (id !== i + 1) throw new Error(`expected image id ${i + 1}, got ${id}`);
        store.putEmbedding(id, MODEL, '1', 1, data.subarray(i * dim, (i + 1) * dim));
      }
    });
  }
}

/** The rows of size n in a previous report at `path` (none when it is missing). */
function previousRows(path: string, n: number): SearchRow[] {
  if (!existsSync(path)) return [];
  const r = JSON.parse(readFileSync(path, 'utf8')) as { rows?: SearchRow[] };
  return (r.rows ?? []).filter((x) => x.vectors === n);
}

interface Run {
  readonly engine: string;
  readonly dir: string;
  index: LibraryIndex;
  searcher: Searcher;
  readonly coarse: number[];
  readonly rerank: number[];
  readonly total: number[];
  readonly wall: number[];
  hits: number;
  annHits: number;
}

export async function benchSearch(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '10000,100000,1000000' },
      engines: { type: 'string', default: 'hnswlib,usearch' },
      dim: { type: 'string', default: '128' },
      queries: { type: 'string', default: '200' },
      'recall-queries': { type: 'string' },
      'no-worker': { type: 'boolean', default: false },
      reuse: { type: 'boolean', default: false },
      vectors: { type: 'string', default: 'synthetic' },
      model: { type: 'string' },
      dir: { type: 'string', default: '.cache/bench-search' },
      /** Report path without extension, so a long size can run on its own (e.g. search-1m). */
      out: { type: 'string', default: 'docs/bench/search' },
    },
  });
  const real = values.vectors === 'real';
  if (!real && values.vectors !== 'synthetic')
    throw new ValidationError(`--vectors is synthetic or real, not '${values.vectors}'`);
  let dim = Number(values.dim);
  let realModel: string | undefined;
  const nq = Number(values.queries);
  const engines = values.engines!.split(',').map((e) => e.trim());
  for (const e of engines) parseCoarse(e); // fail early
  const rows: SearchRow[] = [];
  for (const n of values.sizes!.split(',').map(Number)) {
    const nTruth = Math.min(
      nq,
      values['recall-queries']
        ? Number(values['recall-queries'])
        : Math.max(20, Math.floor(1e8 / n)),
    );
    const root = join(values.dir!, String(n));
    const reuse = values.reuse && existsSync(join(root, 'matsearch.db'));
    if (!reuse) {
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
    }
    const rng = new Rng(n);
    const store = Store.open(join(root, 'matsearch.db'));
    const have = store.modelFingerprint(MODEL).images;
    if (reuse && have !== n)
      throw new ValidationError(`--reuse: ${root} holds ${have} vectors, not ${n}; run without it`);
    const t0 = performance.now();
    let data: Float32Array;
    let queries: Float32Array[];
    if (real) {
      const r = await realVectors(n, nq, '1/4', resolveModelDir(values.model), values.dir!);
      ({ dim, data, queries } = r);
      realModel = r.modelId;
      if (!reuse) insertAll(store, data, n, dim);
    } else {
      data = fill(reuse ? null : store, n, dim, rng);
      queries = Array.from({ length: nq }, () => {
        const i = rng.int(n);
        const v = data.subarray(i * dim, (i + 1) * dim);
        return unit(v.map((x) => x + (rng.normal() * 0.5) / Math.sqrt(dim)));
      });
    }
    const previous = reuse ? previousRows(`${values.out!}.json`, n) : [];
    const insertS = reuse ? (previous[0]?.insertS ?? NaN) : (performance.now() - t0) / 1000;
    const tt = performance.now();
    const truth = queries.slice(0, nTruth).map((q) => exactTop10(data, n, dim, q));
    const truthS = (performance.now() - tt) / 1000;
    console.log(
      `${n} vectors: ${reuse ? 'kept from the earlier run' : `inserted in ${insertS.toFixed(1)} s`}, truth for ${nTruth} queries in ${truthS.toFixed(1)} s`,
    );

    // Build every engine's index over the same database; keep them all open.
    const runs: Run[] = [];
    const build: Record<string, { buildS: number; rssMb: number; fileMb: number }> = {};
    for (const engine of engines) {
      const dir = join(root, `index-${engine.replace(':', '-')}`);
      const before = rssMb();
      const tb = performance.now();
      const index = LibraryIndex.open(store, dir, MODEL, dim, {
        ...parseCoarse(engine),
        log: () => {},
      });
      const took = (performance.now() - tb) / 1000;
      const buildS = reuse ? (previous.find((r) => r.engine === engine)?.buildS ?? NaN) : took;
      if (reuse) console.log(`  ${engine}: loaded the saved index in ${took.toFixed(1)} s`);
      const file = join(dir, `${slug(MODEL)}.${index.kind}`);
      const fileMb =
        indexFiles(index.kind as IndexKind, file).reduce((s, p) => s + statSync(p).size, 0) / 1e6;
      build[engine] = { buildS, rssMb: rssMb() - before, fileMb };
      if (!reuse) console.log(`  ${engine}: ${index.kind} index built in ${buildS.toFixed(1)} s`);
      const searcher = new Searcher(store, index, new VectorEmbedder(dim, !real));
      runs.push({
        engine,
        dir,
        index,
        searcher,
        coarse: [],
        rerank: [],
        total: [],
        wall: [],
        hits: 0,
        annHits: 0,
      });
    }

    const measure = async (run: Run, q: number) => {
      const query = queries[q]!;
      const tw = performance.now();
      const r = await run.searcher.search(query, { k: 10, width: '1/4', dedupe: false });
      run.wall.push(performance.now() - tw);
      run.coarse.push(r.timings.coarse);
      run.rerank.push(r.timings.rerank);
      run.total.push(r.timings.coarse + r.timings.rerank);
      if (q < nTruth) {
        run.hits += r.results.filter((h) => truth[q]!.has(h.id)).length;
        // the engine alone, full-width query, no rerank (untimed)
        run.annHits += run.index.search(query, 10).labels.filter((l) => truth[q]!.has(l)).length;
      }
    };
    // Warm-up (JIT, caches), then every query on every engine, back to back, order alternating.
    for (const run of runs)
      for (let q = 0; q < Math.min(10, nq); q++)
        await run.searcher.search(queries[q]!, { k: 10, width: '1/4' });
    for (let q = 0; q < nq; q++) {
      const order = q % 2 === 0 ? runs : [...runs].reverse();
      for (const run of order) await measure(run, q);
    }
    for (const run of runs) run.index.close();

    // The same queries with each saved index loaded into a worker thread.
    const worker: Record<string, { coarse: number[]; total: number[] }> = {};
    if (!values['no-worker']) {
      for (const run of runs) {
        const index = LibraryIndex.open(store, run.dir, MODEL, dim, {
          ...parseCoarse(run.engine),
          thread: 'worker',
          log: () => {},
        });
        const searcher = new Searcher(store, index, new VectorEmbedder(dim, !real));
        const coarse: number[] = [];
        const total: number[] = [];
        for (let q = 0; q < Math.min(10, nq); q++)
          await searcher.search(queries[q]!, { k: 10, width: '1/4' });
        for (let q = 0; q < nq; q++) {
          const r = await searcher.search(queries[q]!, { k: 10, width: '1/4', dedupe: false });
          coarse.push(r.timings.coarse);
          total.push(r.timings.coarse + r.timings.rerank);
        }
        worker[run.engine] = { coarse, total };
        index.close();
      }
    }

    for (const run of runs) {
      const row: SearchRow = {
        ...(reuse ? { reused: true } : {}),
        vectors: n,
        engine: run.engine,
        index: run.index.kind,
        insertS: +insertS.toFixed(1),
        buildS: +build[run.engine]!.buildS.toFixed(1),
        rssMb: +build[run.engine]!.rssMb.toFixed(0),
        fileMb: +build[run.engine]!.fileMb.toFixed(0),
        coarseP50: r3(pct(run.coarse, 50)),
        coarseP95: r3(pct(run.coarse, 95)),
        coarseP99: r3(pct(run.coarse, 99)),
        rerankP50: r3(pct(run.rerank, 50)),
        rerankP99: r3(pct(run.rerank, 99)),
        totalP50: r3(pct(run.total, 50)),
        totalP95: r3(pct(run.total, 95)),
        totalP99: r3(pct(run.total, 99)),
        recallAt10: +(run.hits / (10 * nTruth)).toFixed(4),
        annRecallAt10: +(run.annHits / (10 * nTruth)).toFixed(4),
        recallQueries: nTruth,
        qps: +(nq / (run.wall.reduce((s, x) => s + x, 0) / 1000)).toFixed(1),
        ...(worker[run.engine]
          ? {
              workerCoarseP50: r3(pct(worker[run.engine]!.coarse, 50)),
              workerCoarseP99: r3(pct(worker[run.engine]!.coarse, 99)),
              workerTotalP50: r3(pct(worker[run.engine]!.total, 50)),
              workerTotalP99: r3(pct(worker[run.engine]!.total, 99)),
            }
          : {}),
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
    store.close();
  }
  const result = {
    bench: 'search',
    dim,
    queries: nq,
    engines,
    ...(realModel ? { vectors: `real: ${realModel}` } : {}),
    machine: machine(),
    rows,
  };
  writeReport(`${values.out!}.json`, result, `${values.out!}.md`, searchReport(result));
}
