/**
 * Fills the wire formats of wire.ts (snake_case, shared by the CLI's --json and the HTTP API)
 * from the library's answers. Imports wire.ts for its types only, so zod is never loaded here.
 */
import type { IngestSummary as Summary } from '../ingest/pipeline.js';
import type { LibraryStats as Stats } from './library.js';
import type { SearchHit as Hit, SearchResponse as Response } from './search/searcher.js';
import type {
  IngestSummaryJson,
  LibraryStatsJson,
  SearchHitJson,
  SearchResponseJson,
} from './wire.js';

/** The library's stats in the wire format. */
export function statsJson(s: Stats): LibraryStatsJson {
  return {
    images: s.images,
    failures: s.failures,
    model_id: s.modelId,
    index: s.index,
    vectors: s.vectors.map((v) => ({ model_id: v.modelId, width: v.width, count: v.count })),
    other_model_only: s.otherModelOnly,
    dead_letters: {
      count: s.deadLetters.count,
      recent: s.deadLetters.recent.map((d) => ({
        path: d.path,
        error: d.error,
        attempts: d.attempts,
        job_id: d.jobId,
        at: new Date(d.at).toISOString(),
      })),
    },
  };
}

/** What the caller adds to the library's answer: where the time outside the search went. */
export interface WireTimings {
  readonly queueMs: number;
  readonly decodeMs: number;
  readonly totalMs: number;
}

/**
 * The library's search answer in the wire format. `hit` gives each result's path and URLs (the
 * API hides paths outside its roots and adds URLs); by default the path as stored, no URLs.
 */
export function searchJson(
  r: Response,
  t: WireTimings,
  hit: (h: Hit) => Pick<SearchHitJson, 'path' | 'image_url' | 'thumbnail_url' | 'file_url'> = (
    h,
  ) => ({ path: h.path }),
): SearchResponseJson {
  return {
    results: r.results.map((h) => ({
      id: h.id,
      score: h.score,
      coarse_score: h.coarseScore,
      vector_width: h.vectorWidth,
      ...hit(h),
    })),
    widths: r.widths,
    width_reason: r.widthReason,
    refined: r.refined,
    timings_ms: {
      queue: t.queueMs,
      decode: t.decodeMs,
      encode: r.timings.encode,
      refine_encode: r.timings.refineEncode,
      coarse: r.timings.coarse,
      rerank: r.timings.rerank,
      total: t.totalMs,
    },
    shortlist: r.shortlist,
    deduped: r.deduped,
    model_id: r.modelId,
  };
}

/** An ingest summary in the wire format. */
export function ingestJson(s: Summary): IngestSummaryJson {
  return {
    job_id: s.jobId,
    files: s.files,
    added: s.added,
    duplicates: s.duplicates,
    unchanged: s.unchanged,
    reembedded: s.reembedded,
    failed: s.failed,
    pruned: s.pruned,
    prune_skipped: [...s.pruneSkipped],
    skipped: s.skipped.map((k) => ({ reason: k.reason, files: k.files, example: k.example })),
    embedded: s.embedded,
    dead_lettered: s.deadLettered,
    seconds: s.seconds,
    images_per_second: s.imagesPerSecond,
    errors: s.errors.map((e) => ({ path: e.path, error: e.error })),
  };
}
