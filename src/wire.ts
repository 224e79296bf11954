/**
 * The JSON wire formats the CLI (--json) and the HTTP API share, defined once in zod: the API
 * documents them in its OpenAPI document (web/openapi.ts) and the CLI writes the same fields,
 * spelled the same (snake_case). test/cli/json-wire.test.ts checks the CLI's output against the
 * generated document. The converters that fill these shapes are in wire-json.ts, which loads no
 * zod: a one-off `matsearch search` writes this JSON without loading a schema library.
 */
import { z } from 'zod';

export const SearchHit = z
  .object({
    id: z.number().int(),
    score: z.number().describe('Final cosine score (full-width rerank unless rerank=none).'),
    coarse_score: z.number().describe('Cosine score of the coarse (query-width) stage.'),
    vector_width: z.string().describe('Width of the stored vector the score used.'),
    path: z
      .string()
      .nullable()
      .describe(
        'A library path of the image; from the API, null when its files lie outside the served roots.',
      ),
    // The CLI has no server to point at: it leaves the URLs out.
    image_url: z.string().optional().describe('The image in the API (not in the CLI output).'),
    thumbnail_url: z.string().optional().describe('Its thumbnail (not in the CLI output).'),
    file_url: z.string().optional().describe('Its original file (not in the CLI output).'),
  })
  .meta({ id: 'SearchHit' });

export const SearchResponse = z
  .object({
    results: z
      .array(SearchHit)
      .describe(
        'Best first, at most k. A near-duplicate of a better result (cosine 0.99 or more between their stored vectors) is left out and counted in deduped.',
      ),
    widths: z.object({
      query: z.string().describe("Width the query was encoded at ('stored' for an id query)."),
      rerank: z
        .string()
        .nullable()
        .describe(
          "Width of the query vector that gave the final scores: the query width, '1' when refined, null with rerank=none.",
        ),
    }),
    width_reason: z
      .string()
      .describe(
        "Why the query width: 'requested', or for 'auto' the budget, the queue and the measured encode latency it weighed.",
      ),
    refined: z.boolean().describe('Whether a second, full-width query pass ran (refine).'),
    timings_ms: z
      .object({
        queue: z.number().describe('Waiting for a search slot (0 in the CLI).'),
        decode: z.number().describe('Reading and decoding the query image (0 for an id query).'),
        encode: z.number().describe('The one encode of the query at its width (0 if cached).'),
        refine_encode: z.number().describe('The full-width refine pass (0 without refine).'),
        coarse: z.number(),
        rerank: z.number(),
        total: z.number().describe('The whole request, server side (in the CLI: the search).'),
      })
      .describe('Per-stage timings in milliseconds.'),
    shortlist: z.number().int(),
    deduped: z
      .number()
      .int()
      .describe('Results left out as near-duplicates of a better one (cosine 0.99 or more).'),
    model_id: z.string(),
  })
  .meta({ id: 'SearchResponse' });

/** `matsearch search --json`: one line per query image, its response or its error. */
export const SearchLine = z
  .union([
    SearchResponse.extend({ query: z.string().describe('The query image path.') }),
    z.object({
      query: z.string().describe('The query image path.'),
      error: z.object({ code: z.string(), message: z.string() }),
    }),
  ])
  .meta({
    id: 'SearchLine',
    description:
      'A line of `matsearch search --json` (the CLI only): the query path and the SearchResponse, or the error that stopped this query.',
  });

/** `matsearch dupes --json`. */
export const DupeGroups = z
  .array(
    z.object({
      ids: z.array(z.number().int()).describe('Image ids in the group.'),
      paths: z.array(z.string()).describe('A path of each, in the same order.'),
    }),
  )
  .meta({
    id: 'DupeGroups',
    description:
      'Groups of near-duplicate images, from `matsearch dupes --json` (the CLI only): images linked by a cosine at or above the threshold.',
  });

/** An ingest run's outcome: `matsearch ingest --json`, and a finished API job's `summary`. */
export const IngestSummary = z
  .object({
    job_id: z.number().int(),
    files: z.number().int().describe('Files found by the walk.'),
    added: z.number().int(),
    duplicates: z
      .number()
      .int()
      .describe('Files whose content the library already had (moves included).'),
    unchanged: z.number().int(),
    reembedded: z
      .number()
      .int()
      .describe('Files already in the library that got a vector of this model.'),
    failed: z.number().int(),
    pruned: z.number().int(),
    prune_skipped: z
      .array(z.string())
      .describe('Folders the walk could not read, whose entries were kept rather than pruned.'),
    skipped: z
      .array(z.object({ reason: z.string(), files: z.number().int(), example: z.string() }))
      .describe('Files left out of the walk because their type cannot be decoded here, by reason.'),
    embedded: z.number().int().describe('Vectors written.'),
    dead_lettered: z.number().int().describe('Files whose queued job failed on every try.'),
    seconds: z.number(),
    images_per_second: z.number(),
    errors: z
      .array(z.object({ path: z.string(), error: z.string() }))
      .describe('The first failures (all are in the library).'),
  })
  .meta({ id: 'IngestSummary' });

/** What the library holds: `matsearch stats --json`, and the first fields of the API's stats. */
export const LibraryStats = z
  .object({
    images: z.number().int(),
    failures: z.number().int(),
    model_id: z.string(),
    index: z.object({ kind: z.string(), size: z.number().int() }),
    vectors: z.array(z.object({ model_id: z.string(), width: z.string(), count: z.number() })),
    other_model_only: z.number().int(),
    dead_letters: z
      .object({
        count: z.number().int(),
        recent: z.array(
          z.object({
            path: z.string(),
            error: z.string().describe("The last try's error."),
            attempts: z.number().int(),
            job_id: z.string(),
            at: z.string().describe('When it was given up on (ISO 8601).'),
          }),
        ),
      })
      .describe(
        'Files of queued ingests (matsearch ingest --queue) whose job failed on every try, latest first (at most 20).',
      ),
  })
  .meta({ id: 'LibraryStats' });

/** `matsearch stats --json [--queue URL]`: the library's stats, and the queue's when asked. */
export const CliStats = LibraryStats.extend({
  queue: z
    .object({
      name: z.string(),
      url: z.string(),
      waiting: z.number().int(),
      active: z.number().int(),
      delayed: z.number().int().describe('Waiting for a retry (back-off).'),
      completed: z.number().int().describe('Results not yet taken by the writer.'),
      failed: z.number().int(),
      workers: z.array(z.string()),
    })
    .optional()
    .describe('The ingest queue and its workers (with --queue only).'),
}).meta({
  id: 'CliStats',
  description: '`matsearch stats --json` (the CLI only): LibraryStats, and the queue with --queue.',
});

export type IngestSummaryJson = z.infer<typeof IngestSummary>;
export type SearchHitJson = z.infer<typeof SearchHit>;
export type SearchResponseJson = z.infer<typeof SearchResponse>;
export type SearchLineJson = z.infer<typeof SearchLine>;
export type DupeGroupsJson = z.infer<typeof DupeGroups>;
export type LibraryStatsJson = z.infer<typeof LibraryStats>;
export type CliStatsJson = z.infer<typeof CliStats>;
