/**
 * The HTTP contract in zod: every request is validated with these schemas, and the OpenAPI
 * document (web/openapi.ts) is generated from the same ones, so the two cannot drift. Response
 * schemas document what the routes send (the tests check real responses against them).
 * Names on the wire are snake_case.
 */
import { z } from 'zod';
import { badRequest } from './errors.js';

/**
 * Query strings, path segments and multipart fields arrive as text: '' means absent, and a
 * number must be spelled in plain decimal (whole numbers as digits only): Number() alone would
 * take '0x10', '1e2', '+1', ' 1' and 'Infinity'.
 */
const WHOLE = /^\d+$/;
const DECIMAL = /^-?(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?$/i;
const toNumber = (integer: boolean) => (v: unknown) => {
  if (v === '' || v === undefined || v === null) return undefined;
  if (typeof v !== 'string') return v;
  return (integer ? WHOLE : DECIMAL).test(v) ? Number(v) : Number.NaN;
};
const toBoolean = (v: unknown) =>
  v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v === '' ? undefined : v;

const number = (min: number, max: number, integer = false) => {
  let n = z.number({ error: integer ? 'must be a whole number' : 'must be a number' });
  if (integer) n = n.int({ error: 'must be a whole number' });
  return z.preprocess(
    toNumber(integer),
    n.min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }),
  );
};
const boolean = () => z.preprocess(toBoolean, z.boolean({ error: 'must be true or false' }));

// ---- requests ----------------------------------------------------------------------------

export const ImageIdParams = z.object({
  id: number(1, Number.MAX_SAFE_INTEGER, true).describe('Image id.'),
});

export const JobIdParams = z.object({
  id: number(1, Number.MAX_SAFE_INTEGER, true).describe('Job id.'),
});

const k = number(1, 1000, true)
  .optional()
  .describe(
    'Results wanted (default 10). Near-duplicates are left out and do not count: a result whose cosine to a better one is 0.99 or more (see deduped in the response).',
  );
const rerank = z
  .enum(['full', 'none'], { error: "must be 'full' or 'none'" })
  .optional()
  .describe(
    "'full' (default) rescores the shortlist exactly against the stored full-width vectors, with the one query vector; 'none' keeps the coarse scores.",
  );
const minScore = number(-1, 1).optional().describe('Drop results with a cosine score below this.');
const shortlist = number(1, 10_000, true)
  .optional()
  .describe("Shortlist size K' taken from the index before reranking (default max(100, 10k)).");

const searchShape = {
  k,
  width: z
    .string({ error: 'must be a string' })
    .max(200, { error: 'must be at most 200 characters' })
    .optional()
    .describe(
      "Query encoder width: '1', '1/2', '1/4', '1/8', a Mix'n'Match spec such as '1/8x10,1/4x10', or 'auto' (the widest expected within budget_ms, the search queue included). Default '1', or 'auto' on a server started with --target-ms. One encode at that width; the shortlist is rescored against the stored full-width vectors. Narrower is cheaper and a little less exact (docs/bench/dial.md: the 35M model answers 3.9x the queries/s at '1/8' as at '1'; general-tiny's encode of its 8 pooled views falls from 4.9 to 2.1 ms, over half of its query, and its queries/s rise 106 -> 131 -> 148 -> 157 from '1' to '1/8', for held-out emoji mAP@10 30.7 to 25.8%); /api/stats gives this server's measured encode ms and quality per width.",
    ),
  budget_ms: number(0.001, 60_000)
    .optional()
    .describe(
      "Latency budget in ms for width 'auto', the search queue included (default: the server's --target-ms; required without one).",
    ),
  rerank,
  refine: boolean()
    .optional()
    .describe(
      "Also encode the query at full width and rescore the shortlist with it: a second encode, costing what width '1' costs, reported as timings_ms.refine_encode (default false; no effect at width 1).",
    ),
  min_score: minScore,
  shortlist,
};

/** Multipart search: the image in the file field `image`, options as text fields. */
export const SearchForm = z
  .strictObject(searchShape)
  .meta({ id: 'SearchForm', description: 'Search with an uploaded image (field `image`).' });

/** JSON search: more like an image already in the library. */
export const SearchJson = z
  .strictObject({
    id: number(1, Number.MAX_SAFE_INTEGER, true).describe('Query with this library image.'),
    ...searchShape,
  })
  .meta({ id: 'SearchJson', description: 'Search with an image already in the library.' });

export const SimilarQuery = z.strictObject({ k, rerank, min_score: minScore, shortlist });

/** Multipart classify: the image in the file field `image`, options as text fields. */
export const ClassifyForm = z
  .strictObject({
    width: z
      .string({ error: 'must be a string' })
      .max(200, { error: 'must be at most 200 characters' })
      .optional()
      .describe(
        "Encoder width: '1' (default), '1/2', '1/4', '1/8' or a Mix'n'Match spec; the classifier head is shared by every width.",
      ),
    top: number(1, 1000, true)
      .optional()
      .describe('Classes returned, most probable first (default 5; at most the model has).'),
  })
  .meta({ id: 'ClassifyForm', description: 'Classify an uploaded image (field `image`).' });

export const ListQuery = z.strictObject({
  cursor: z
    .string()
    .regex(/^\d+$/, { error: 'must be the next_cursor of a previous page' })
    .optional()
    .describe('Where to continue: next_cursor from the previous page.'),
  limit: number(1, 200, true).optional().describe('Images per page (default 50).'),
});

export const IngestBody = z
  .strictObject({
    root: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .optional()
      .describe('One of the served roots (default: all of them).'),
    prune: boolean().optional().describe('Also drop library entries whose files are gone.'),
    width: z
      .string({ error: 'must be a string' })
      .max(200)
      .optional()
      .describe("Width the vectors are made at (default '1'; narrower ones can be refined later)."),
  })
  .meta({ id: 'IngestRequest' });

// ---- responses ---------------------------------------------------------------------------

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().describe('Stable error code, e.g. E_VALIDATION, E_NOT_FOUND, E_BUSY.'),
      message: z.string().describe('What went wrong and what to do about it.'),
      field: z.string().optional().describe('The request field at fault, when there is one.'),
    }),
  })
  .meta({ id: 'Error' });

// The search answer is shared with the CLI's --json output: defined once, in src/wire.ts.
export { SearchHit, SearchResponse } from '../src/wire.js';
import { IngestSummary, LibraryStats } from '../src/wire.js';

export const ClassifyResponse = z
  .object({
    classes: z
      .array(
        z.object({
          index: z.number().int().describe("Class index (the head's output row)."),
          label: z
            .string()
            .nullable()
            .describe(
              "The class's name: from the model's config.json labels, else ImageNet-1k for a 1000-class head; null when it has none.",
            ),
          probability: z.number().describe('Softmax probability (0-1).'),
        }),
      )
      .describe('The top classes, most probable first.'),
    width: z.string().describe('Width the image was encoded at.'),
    model_id: z.string(),
    timings_ms: z
      .object({
        queue: z.number().describe('Waiting for a slot (classify shares the search queue).'),
        total: z.number().describe('The whole request, server side.'),
      })
      .describe('Timings in milliseconds.'),
  })
  .meta({ id: 'ClassifyResponse' });

export const ImageSummary = z
  .object({
    id: z.number().int(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    format: z.string().nullable(),
    size: z.number().int().describe('Bytes.'),
    status: z.enum(['pending', 'ready', 'error']),
    added_at: z.string().describe('ISO 8601.'),
    path: z
      .string()
      .nullable()
      .describe('A library path of the image; null when it has none inside the served roots.'),
    url: z.string(),
    thumbnail_url: z.string(),
  })
  .meta({ id: 'ImageSummary' });

export const ImageDetail = ImageSummary.extend({
  hash: z.string().describe('SHA-256 of the file content.'),
  error: z.string().nullable(),
  paths: z.array(z.string()),
  vectors: z
    .array(z.object({ width: z.string() }))
    .describe('Vectors of the served model, widest first.'),
  file_url: z.string(),
  similar_url: z.string(),
}).meta({ id: 'ImageDetail' });

export const ImagePage = z
  .object({
    images: z.array(ImageSummary),
    next_cursor: z
      .string()
      .nullable()
      .describe('Pass as cursor for the next page; null at the end.'),
  })
  .meta({ id: 'ImagePage' });

export const UploadResponse = z
  .object({
    images: z.array(
      z.object({
        name: z.string().describe('The client file name.'),
        status: z.enum(['added', 'known', 'failed']),
        id: z.number().int().nullable(),
        error: z.string().nullable(),
        url: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'UploadResponse' });

export const JobResponse = z
  .object({
    id: z.number().int(),
    kind: z.literal('ingest'),
    state: z.enum(['queued', 'running', 'done', 'failed', 'interrupted']),
    roots: z.array(z.string()),
    total: z.number().int().describe('Files found.'),
    done: z.number().int().describe('Files handled so far.'),
    embedded: z.number().int(),
    errors: z.number().int(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    summary: IngestSummary.nullable().describe(
      'When the job has finished: the same summary as `matsearch ingest --json`.',
    ),
    messages: z.array(z.string()).describe('First file errors, or why the job failed.'),
    url: z.string(),
  })
  .meta({ id: 'Job' });

const GateStatsSchema = z.object({
  concurrency: z.number().int(),
  max_queue: z.number().int(),
  active: z.number().int(),
  waiting: z.number().int(),
  rejected: z.number().int(),
});

export const StatsResponse = LibraryStats.extend({
  queues: z.object({ search: GateStatsSchema, write: GateStatsSchema }),
  active_job: z.number().int().nullable(),
  refine: z
    .object({
      enabled: z.boolean(),
      narrow: z
        .number()
        .int()
        .describe('Images whose widest vector is still narrower than full width.'),
      refined: z.number().int().describe('Images this server has refined to full width so far.'),
      failed: z.number().int().describe('Images whose file could not be read again.'),
      running: z.boolean(),
      share: z.number().describe('Largest share of the time spent refining.'),
    })
    .nullable()
    .describe('Background refinement of narrow vectors while idle (null when off).'),
  encode_ms: z
    .record(z.string(), z.number())
    .describe(
      'Measured query encode latency per width on this server (ms, moving average), for the widths searched so far.',
    ),
  width_quality: z
    .object({
      source: z.string(),
      set: z.string().describe('The evaluation set the figures are from.'),
      queries: z.number().int(),
      map_at_10: z.record(z.string(), z.number()),
      recall_at_10: z.record(z.string(), z.number()),
      measured: z.string().describe('When the bench ran (ISO 8601).'),
      quick: z.boolean().describe('A quick smoke run of the bench, not its measurement.'),
    })
    .nullable()
    .describe(
      "Quality of a query at each width against the full-width vectors (0-1), as `npm run bench -- dial` measured it for this server's model id; null when it never did.",
    ),
  uptime_s: z.number(),
}).meta({ id: 'Stats' });

export const HealthResponse = z
  .object({
    status: z.literal('ok'),
    model_id: z.string(),
    images: z.number().int(),
    index: z.object({ kind: z.string(), size: z.number().int() }),
  })
  .meta({ id: 'Health' });

// ---- validation ----------------------------------------------------------------------------

/**
 * Parses `value` with `schema`, or throws a 400 whose message names the field, e.g.
 * "k: must be at most 1000". `where` names the whole value when the problem is its shape.
 */
export function parseRequest<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: string,
): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return fail(key, 'unknown field');
  }
  const field = issue.path.length ? issue.path.map(String).join('.') : where;
  const message =
    issue.code === 'invalid_type' && issue.path.length === 0
      ? `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`
      : issue.message.replace(/^Invalid input: /, '');
  return fail(field, message);
}

function fail(field: string, message: string): never {
  throw badRequest(field, message);
}
