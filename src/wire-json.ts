/**
 * Fills the wire formats of wire.ts (snake_case, shared by the CLI's --json and the HTTP API)
 * from the library's answers. Imports wire.ts for its types only, so zod is never loaded here.
 */
import type { LibraryStats as Stats } from './library.js';
import type { SearchHit as Hit, SearchResponse as Response } from './search/searcher.js';
import type { LibraryStatsJson, SearchHitJson, SearchResponseJson } from './wire.js';

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
