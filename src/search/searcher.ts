/**
 * The adaptive two-stage search of a library (after Matryoshka adaptive retrieval):
 *   1. encode the query once, at the requested width (or the widest that fits a latency budget);
 *   2. coarse: the index's top-K' shortlist for that vector;
 *   3. rerank: exact cosine between that query vector and each candidate's stored widest vector
 *      (full precision; full width where the library has it), read from the index's memory
 *      where it keeps them (hnswlib), else the database;
 *   4. filter (min score, excluded ids), drop near-duplicates, keep k.
 * Every width shares one embedding space, which is what makes 1 + 3 valid: the database side
 * holds the full model's vectors, so a narrow query needs no second pass. `refine` asks for
 * one: a full-width encode of the query (run alongside stage 2) rescores the shortlist; it is
 * timed apart (`refineEncode`) and never happens unless asked.
 * A small cache of recent query vectors (by content and width) means a client that asks for
 * the same image again, e.g. the UI's refine step after its first answer, is not re-encoded.
 * Stages 3 and 4 read the database in batches and yield to the event loop every few ms: the
 * largest request (k = 1000 of a 10,000 shortlist) takes a while but never stalls the server.
 * Stage 2 is awaited: with the index in a worker thread (`thread: 'worker'`) it runs there and
 * the event loop stays free; in-process it is synchronous.
 */
import { createHash } from 'node:crypto';
import type { Embedder } from '../embed/embedder.js';
import { STANDARD_WIDTHS, type WidthSpec } from '../model/widths.js';
import type { Store } from '../store/store.js';
import type { LibraryIndex } from '../../index/library-index.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { chooseWidth, type Load, type WidthChoice } from './auto-width.js';

export interface SearchOptions {
  /** Results wanted (default 10). */
  readonly k?: number;
  /** Query width: a fraction, per-layer spec, or 'auto' (widest within `budgetMs`). Default 1. */
  readonly width?: WidthSpec | 'auto';
  /** Latency budget in ms for width 'auto' (the queue ahead counts against it). */
  readonly budgetMs?: number;
  /** The server's search queue now, for width 'auto' (default: none waiting). */
  readonly load?: Load;
  /** Shortlist size K' (default max(100, 10k)). */
  readonly shortlist?: number;
  /**
   * 'full' (default) rescores the shortlist exactly against the stored full-width vectors with
   * the query vector; 'none' keeps the coarse stage's scores.
   */
  readonly rerank?: 'full' | 'none';
  /**
   * Also encode the query at full width and rescore the shortlist with that vector (a second
   * encode, reported as `timings.refineEncode`). No effect at width 1 or with rerank 'none'.
   */
  readonly refine?: boolean;
  /** Drop results scoring below this cosine. */
  readonly minScore?: number;
  /** Image ids never returned (e.g. the query image itself). */
  readonly exclude?: readonly number[];
  /** Drop a result whose cosine to a better one is at least this (default 0.99; false = keep all). */
  readonly dedupe?: number | false;
}

export interface SearchHit {
  readonly id: number;
  readonly score: number;
  /** Score from the coarse stage (the query-width vector against the index). */
  readonly coarseScore: number;
  /** Width label of the stored vector the final score used. */
  readonly vectorWidth: string;
  readonly path: string;
  readonly paths: string[];
}

export interface SearchResponse {
  readonly results: SearchHit[];
  readonly timings: {
    /** The query's one encode at its width (0 when the vector came from the cache). */
    encode: number;
    /** The full-width pass of `refine` (0 without it). */
    refineEncode: number;
    coarse: number;
    rerank: number;
    total: number;
  };
  /**
   * query: the width the query was encoded at; rerank: the width of the query vector that gave
   * the final scores (the query width, '1' when refined, null with rerank 'none').
   */
  readonly widths: { query: string; rerank: string | null };
  /** Why the query width: 'requested', or what 'auto' weighed. */
  readonly widthReason: string;
  /** Whether a full-width refine pass ran. */
  readonly refined: boolean;
  readonly shortlist: number;
  /**
   * Results left out as near-duplicates of a better one (cosine >= `dedupe`, default 0.99), among
   * those that would otherwise have been shown; 0 with `dedupe: false`.
   */
  readonly deduped: number;
  readonly modelId: string;
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Coarse hits, each with its full-width vector when the index holds one in memory. */
type Shortlist = { id: number; coarse: number; full: Float32Array | undefined }[];

/** Query vectors kept for a repeated query (the same image at the same width). */
const QUERY_CACHE = 64;

/** Ids per database query when a search reads many rows. */
const BATCH = 500;

/**
 * A check to call often in a long loop: once `sliceMs` of work has passed it lets the event loop
 * run (other requests, health checks) before going on, so one heavy search never stalls it.
 */
function slicer(sliceMs = 10): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < sliceMs) return;
    await new Promise((r) => setImmediate(r));
    since = performance.now();
  };
}

/** Encodes per width whose minimum seeds its latency (a cold call on each encoder worker). */
const WARM_UP_CALLS = 4;

export class Searcher {
  /** Measured encode latency per width label (ms, moving average), for 'auto'. */
  private readonly latency = new Map<string, number>();
  /** Encodes measured per width label. */
  private readonly measured = new Map<string, number>();
  /** Recent query vectors by input digest and width label, least recently used first. */
  private readonly recent = new Map<string, Float32Array>();
  /** Encoder calls made for queries (for tests and stats). */
  encodes = 0;

  constructor(
    private readonly store: Store,
    private readonly index: LibraryIndex,
    private readonly embedder: Embedder,
  ) {}

  private async encode(
    input: Float32Array,
    width: WidthSpec,
    digest?: string,
  ): Promise<{ vector: Float32Array; ms: number; label: string }> {
    const label = this.embedder.widthLabel(width);
    const key = digest === undefined ? undefined : `${digest} ${label}`;
    const cached = key === undefined ? undefined : this.recent.get(key);
    if (cached) {
      this.recent.delete(key!);
      this.recent.set(key!, cached);
      return { vector: cached, ms: 0, label };
    }
    const t0 = performance.now();
    this.encodes++;
    const [vector] = await this.embedder.embed([input], width);
    const ms = performance.now() - t0;
    // The first call of a width on each encoder worker pays one-off costs (an ONNX export, a
    // session's start): the first few measurements keep their minimum, later ones average in.
    const seen = this.measured.get(label) ?? 0;
    this.measured.set(label, seen + 1);
    const prev = this.latency.get(label);
    this.latency.set(
      label,
      prev === undefined ? ms : seen < WARM_UP_CALLS ? Math.min(prev, ms) : 0.8 * prev + 0.2 * ms,
    );
    if (key !== undefined) {
      this.recent.set(key, vector!);
      if (this.recent.size > QUERY_CACHE) this.recent.delete(this.recent.keys().next().value!);
    }
    return { vector: vector!, ms, label };
  }

  /**
   * The widest standard width whose measured latency, with the queue ahead, fits the budget
   * (auto-width.ts); widths never measured are probed first.
   */
  async widthForBudget(budgetMs: number, probe: Float32Array, load?: Load): Promise<WidthChoice> {
    // Three probes per width: the first call on each of two encoder workers pays start-up costs.
    for (const w of STANDARD_WIDTHS)
      if (!this.latency.has(w)) for (let i = 0; i < 3; i++) await this.encode(probe, w);
    return chooseWidth(budgetMs, this.latency, load);
  }

  /** Measured encode latency per width label (ms, moving averages). */
  latencies(): ReadonlyMap<string, number> {
    return this.latency;
  }

  /**
   * Searches with a preprocessed query image ([S, S, C] normalised). `inputKey` names the input
   * for the query cache when the caller has a cheaper name than hashing it (the hash of the file
   * it was decoded from, by this library's decoding); else the input itself is hashed.
   */
  async search(
    input: Float32Array,
    o: SearchOptions = {},
    inputKey?: string,
  ): Promise<SearchResponse> {
    const t0 = performance.now();
    const k = o.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > 1000)
      throw new ValidationError(`k must be an integer from 1 to 1000, got ${k}`);
    let width: WidthSpec = o.width ?? 1;
    let widthReason = 'requested';
    if (width === 'auto') {
      if (!(typeof o.budgetMs === 'number' && o.budgetMs > 0))
        throw new ValidationError("width 'auto' needs a positive budgetMs");
      const choice = await this.widthForBudget(o.budgetMs, input, o.load);
      width = choice.width;
      widthReason = choice.reason;
    }
    const rerank = o.rerank ?? 'full';
    const queryLabel = this.embedder.widthLabel(width);
    const refine = o.refine === true && rerank === 'full' && queryLabel !== '1';
    const digest =
      inputKey ??
      createHash('sha256')
        .update(new Uint8Array(input.buffer, input.byteOffset, input.byteLength))
        .digest('hex');
    const q = await this.encode(input, width, digest);
    // The refine pass runs while the coarse stage searches (on the worker pool when the
    // embedder has one; in-process embedders simply run it first).
    const refinePromise = refine ? this.encode(input, 1, digest) : Promise.resolve(q);
    const tc = performance.now();
    const shortlist = await this.coarse(q.vector, k, o);
    const coarseMs = performance.now() - tc;
    const scorer = await refinePromise;
    const tr = performance.now();
    const { results, deduped } = await this.finish(
      shortlist,
      rerank === 'full' ? scorer.vector : null,
      k,
      o,
    );
    const rerankMs = performance.now() - tr;
    return {
      results,
      timings: {
        encode: q.ms,
        refineEncode: refine ? scorer.ms : 0,
        coarse: coarseMs,
        rerank: rerankMs,
        total: performance.now() - t0,
      },
      widths: { query: queryLabel, rerank: rerank === 'full' ? scorer.label : null },
      widthReason,
      refined: refine,
      shortlist: shortlist.length,
      deduped,
      modelId: this.embedder.modelId,
    };
  }

  /** More like this: the stored vector of an image is the query; nothing is encoded. */
  async similar(imageId: number, o: SearchOptions = {}): Promise<SearchResponse> {
    const t0 = performance.now();
    const k = o.k ?? 10;
    const full = this.store.getEmbedding(imageId, this.embedder.modelId, '1');
    const widest = full ? null : this.store.widestEmbedding(imageId, this.embedder.modelId);
    const v = full ?? widest?.vector;
    if (!v)
      throw new NotFoundError(`image ${imageId} has no vector of model ${this.embedder.modelId}`);
    const label = full ? '1' : widest!.width;
    const opts = { ...o, exclude: [...(o.exclude ?? []), imageId] };
    const tc = performance.now();
    const shortlist = await this.coarse(v, k, opts);
    const coarseMs = performance.now() - tc;
    const tr = performance.now();
    const { results, deduped } = await this.finish(
      shortlist,
      (o.rerank ?? 'full') === 'full' ? v : null,
      k,
      opts,
    );
    return {
      results,
      timings: {
        encode: 0,
        refineEncode: 0,
        coarse: coarseMs,
        rerank: performance.now() - tr,
        total: performance.now() - t0,
      },
      widths: { query: 'stored', rerank: (o.rerank ?? 'full') === 'full' ? label : null },
      widthReason: 'the stored vector of the image',
      refined: false,
      shortlist: shortlist.length,
      deduped,
      modelId: this.embedder.modelId,
    };
  }

  /**
   * The shortlist, each with its stored full-width vector where the index holds it in memory
   * (fetched with the search: one round trip to an index in a worker, not two).
   */
  private async coarse(vector: Float32Array, k: number, o: SearchOptions): Promise<Shortlist> {
    const K = Math.max(k, o.shortlist ?? Math.max(100, 10 * k));
    const exclude = new Set(o.exclude ?? []);
    const { hits, vectors } = await this.index.searchWithVectors(vector, K + exclude.size);
    return hits.labels
      .map((id, i) => ({ id, coarse: hits.scores[i]!, full: vectors[i] }))
      .filter((h) => !exclude.has(h.id));
  }

  private async finish(
    shortlist: Shortlist,
    query: Float32Array | null,
    k: number,
    o: SearchOptions,
  ): Promise<{ results: SearchHit[]; deduped: number }> {
    const model = this.embedder.modelId;
    const needVectors = query !== null || o.dedupe !== false;
    const tick = slicer();
    // From the index's memory where it holds the full-width vector (came with the shortlist);
    // else from the database, in batches of one query each.
    const inMemory = shortlist.map((h) => h.full);
    const fromDb = new Map<number, Float32Array>();
    if (needVectors) {
      const missing = shortlist.filter((_, i) => !inMemory[i]).map((h) => h.id);
      for (let s = 0; s < missing.length; s += BATCH) {
        for (const [id, v] of this.store.embeddingsOf(missing.slice(s, s + BATCH), model, '1'))
          fromDb.set(id, v);
        await tick();
      }
    }
    const scored = [];
    for (let i = 0; i < shortlist.length; i++) {
      const h = shortlist[i]!;
      const full = needVectors ? (inMemory[i] ?? fromDb.get(h.id)) : undefined;
      const stored =
        full ?? (needVectors ? this.store.widestEmbedding(h.id, model)?.vector : undefined);
      scored.push({
        id: h.id,
        coarse: h.coarse,
        vector: stored,
        vectorWidth: full ? '1' : 'narrower',
        score: query && stored ? dot(query, stored) : h.coarse,
        // No vector left anywhere: the image was deleted after the coarse stage found it.
        gone: needVectors && !stored,
      });
      if (i % 256 === 255) await tick();
    }
    scored.sort((a, b) => b.score - a.score);
    const minScore = o.minScore ?? -Infinity;
    const dedupe = o.dedupe === undefined ? 0.99 : o.dedupe;
    const kept: SearchHit[] = [];
    const keptVectors: Float32Array[] = [];
    let deduped = 0;
    const paths = new Map<number, string[]>();
    let pathsTo = 0;
    let dots = 0;
    for (let j = 0; j < scored.length && kept.length < k; j++) {
      const s = scored[j]!;
      if (s.gone || s.score < minScore) continue;
      if (dedupe !== false && s.vector) {
        let dup = false;
        for (const v of keptVectors) {
          if (dot(v, s.vector) < dedupe) continue;
          dup = true;
          break;
        }
        dots += keptVectors.length;
        if (dots >= 2048) {
          dots = 0;
          await tick();
        }
        if (dup) {
          deduped++;
          continue;
        }
      }
      if (j >= pathsTo) {
        // The paths of the next candidates, in one query: about as many as are still wanted
        // (a few more for those dropped), not the whole shortlist.
        const n = Math.min(BATCH, 2 * (k - kept.length) + 8);
        const ids = scored.slice(j, j + n).map((x) => x.id);
        const found = this.store.pathsOfMany(ids);
        for (const id of ids) paths.set(id, found.get(id) ?? []);
        pathsTo = j + n;
      }
      const p = paths.get(s.id)!;
      if (p.length === 0 && !this.store.getImage(s.id)) continue; // deleted meanwhile
      kept.push({
        id: s.id,
        score: s.score,
        coarseScore: s.coarse,
        vectorWidth: s.vectorWidth,
        path: p[0] ?? '',
        paths: p,
      });
      if (s.vector) keptVectors.push(s.vector);
    }
    return { results: kept, deduped };
  }
}
