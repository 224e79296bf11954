/**
 * Search pipeline at scale on synthetic vectors: per-stage latency percentiles, recall@10 of the
 * two-stage result against exact full-width search over the whole collection, queries/s, and
 * index build time and memory.
 *   npm run bench -- search [--sizes 10000,100000,1000000] [--dim 128] [--queries 200]
 *
 * Vectors are clustered (centres + noise, like real embeddings; isotropic noise is the worst case
 * and is covered by the index tests). A query is a stored vector plus noise; its "narrow width"
 * version adds more noise (cos ~0.95 to the full one), as a cheaper submodel's vector would.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Store } from '../src/store/store.js';
import { LibraryIndex } from '../index/library-index.js';
import { Searcher } from '../src/search/searcher.js';
import type { Embedder } from '../src/embed/embedder.js';
import { Rng } from '../src/util/rng.js';
import { machine, mdTable, writeReport } from './util.js';

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  return v.map((x) => x * inv);
}

/** Stands in for the encoder: the "image" is the query vector; narrow widths add noise. */
class VectorEmbedder implements Embedder {
  readonly modelId = 'synthetic@bench';
  readonly inputSize = 1;
  readonly inputChannels = 1;
  private readonly rng = new Rng(99);
  constructor(readonly dim: number) {}
  widthLabel(w: unknown): string {
    return String(w);
  }
  widthRank(w: unknown): number {
    return String(w) === '1' ? 1 : 0.25;
  }
  async embed(inputs: readonly Float32Array[], width: unknown): Promise<Float32Array[]> {
    return inputs.map((x) =>
      String(width) === '1'
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

export async function benchSearch(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '10000,100000,1000000' },
      dim: { type: 'string', default: '128' },
      queries: { type: 'string', default: '200' },
      dir: { type: 'string', default: '.cache/bench-search' },
    },
  });
  const dim = Number(values.dim);
  const nq = Number(values.queries);
  const rows: Record<string, number | string>[] = [];
  for (const n of values.sizes!.split(',').map(Number)) {
    const dir = join(values.dir!, String(n));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const rng = new Rng(n);
    const store = Store.open(join(dir, 'matsearch.db'));
    const centres = Array.from({ length: Math.max(10, Math.round(n / 200)) }, () =>
      Float32Array.from({ length: dim }, () => rng.normal()),
    );
    const data: Float32Array[] = [];
    const t0 = performance.now();
    for (let s = 0; s < n; s += 10_000) {
      store.transaction(() => {
        for (let i = s; i < Math.min(n, s + 10_000); i++) {
          const c = centres[rng.int(centres.length)]!;
          const v = unit(c.map((x) => x + rng.normal() * 0.6));
          data.push(v);
          const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
          store.putEmbedding(id, 'synthetic@bench', '1', 1, v);
        }
      });
    }
    const insertS = (performance.now() - t0) / 1000;
    const rss0 = process.memoryUsage().rss;
    const tb = performance.now();
    const index = LibraryIndex.open(store, join(dir, 'index'), 'synthetic@bench', dim, {
      log: () => {},
    });
    const buildS = (performance.now() - tb) / 1000;
    const rssMb = (process.memoryUsage().rss - rss0) / 1e6;
    const embedder = new VectorEmbedder(dim);
    const searcher = new Searcher(store, index, embedder);
    const coarse: number[] = [];
    const rerank: number[] = [];
    const total: number[] = [];
    let hits = 0;
    const tq = performance.now();
    for (let q = 0; q < nq; q++) {
      const base = data[rng.int(n)]!;
      const query = unit(base.map((x) => x + (rng.normal() * 0.5) / Math.sqrt(dim)));
      const r = await searcher.search(query, { k: 10, width: '1/4', dedupe: false });
      coarse.push(r.timings.coarse);
      rerank.push(r.timings.rerank);
      total.push(r.timings.coarse + r.timings.rerank);
      // exact full-width truth over the whole collection
      const scores = data.map((v) => v.reduce((s, x, i) => s + x * query[i]!, 0));
      const truth = new Set(
        [...scores.keys()]
          .sort((a, b) => scores[b]! - scores[a]!)
          .slice(0, 10)
          .map((i) => i + 1),
      );
      hits += r.results.filter((h) => truth.has(h.id)).length;
    }
    const qps = nq / ((performance.now() - tq) / 1000);
    const row = {
      vectors: n,
      index: index.kind,
      insertS: +insertS.toFixed(1),
      buildS: +buildS.toFixed(1),
      indexMb: +rssMb.toFixed(0),
      coarseP50: +pct(coarse, 50).toFixed(3),
      coarseP95: +pct(coarse, 95).toFixed(3),
      coarseP99: +pct(coarse, 99).toFixed(3),
      rerankP50: +pct(rerank, 50).toFixed(3),
      rerankP99: +pct(rerank, 99).toFixed(3),
      totalP50: +pct(total, 50).toFixed(3),
      totalP99: +pct(total, 99).toFixed(3),
      recallAt10: +(hits / (10 * nq)).toFixed(4),
      qpsWithTruth: +qps.toFixed(1),
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    index.close();
    store.close();
  }
  const result = { bench: 'search', dim, queries: nq, machine: machine(), rows };
  const md =
    `# Search pipeline on synthetic vectors (${dim}-d)\n\n${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}, ${result.machine.date}. ` +
    `${nq} queries per size; query width 1/4 (noisier vector) for the coarse stage, full width for the rerank; ` +
    `recall@10 against exact full-width search over the whole collection; times exclude encoding.\n\n` +
    mdTable(
      [
        'vectors',
        'index',
        'build s',
        'index MB',
        'coarse p50/p95/p99 ms',
        'rerank p50/p99 ms',
        'total p50/p99 ms',
        'recall@10',
      ],
      rows.map((r) => [
        r['vectors']!,
        r['index']!,
        r['buildS']!,
        r['indexMb']!,
        `${r['coarseP50']} / ${r['coarseP95']} / ${r['coarseP99']}`,
        `${r['rerankP50']} / ${r['rerankP99']}`,
        `${r['totalP50']} / ${r['totalP99']}`,
        r['recallAt10']!,
      ]),
    );
  writeReport('docs/bench/search.json', result, 'docs/bench/search.md', md);
}
