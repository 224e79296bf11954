/**
 * The OpenAPI 3.1 document of the REST API, generated from the zod schemas that validate the
 * requests (web/schemas.ts) and a table of the routes. Served at /api/openapi.json.
 */
import { z } from 'zod';
import {
  ClassifyForm,
  ClassifyResponse,
  ErrorResponse,
  HealthResponse,
  ImageDetail,
  ImageIdParams,
  ImagePage,
  IngestBody,
  JobIdParams,
  JobResponse,
  ListQuery,
  SearchForm,
  SearchJson,
  SearchResponse,
  SimilarQuery,
  StatsResponse,
  UploadResponse,
} from './schemas.js';
import { CliStats, DupeGroups, SearchLine } from '../src/wire.js';

type Json = Record<string, unknown>;

interface Response {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** A non-JSON body: its media type. */
  readonly media?: string;
}

interface RouteDoc {
  readonly method: 'get' | 'post' | 'delete';
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  /** A write route: needs the API key when the server has one. */
  readonly write?: boolean;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly json?: z.ZodType;
  /** Multipart body: the text fields and the file field. */
  readonly multipart?: { fields?: z.ZodType; file: string; maxFiles: string };
  /** Gated by the search queue: may answer 503 with Retry-After. */
  readonly queued?: boolean;
  /** Error statuses of this route alone, with what they mean here. */
  readonly errors?: Readonly<Record<number, string>>;
  readonly responses: Record<string, Response>;
}

const ok = (description: string, schema?: z.ZodType): Response => ({
  description,
  ...(schema ? { schema } : {}),
});

export const ROUTES: readonly RouteDoc[] = [
  {
    method: 'post',
    path: '/api/search',
    tag: 'search',
    summary:
      'Search by example: upload an image (multipart field `image`) or name a library image (JSON {id}).',
    multipart: { fields: SearchForm, file: 'image', maxFiles: 'one' },
    json: SearchJson,
    queued: true,
    responses: { 200: ok('Ranked results with per-stage timings.', SearchResponse) },
  },
  {
    method: 'post',
    path: '/api/classify',
    tag: 'classify',
    summary:
      "The model's classes for an uploaded image (multipart field `image`), with probabilities: the official ImageNet models name the 1000 ImageNet-1k classes.",
    multipart: { fields: ClassifyForm, file: 'image', maxFiles: 'one' },
    queued: true,
    errors: {
      409: 'The served model has no classification head (E_NO_HEAD): serve a model with one, e.g. an imported official ImageNet checkpoint.',
    },
    responses: { 200: ok('The top classes.', ClassifyResponse) },
  },
  {
    method: 'get',
    path: '/api/images',
    tag: 'images',
    summary: 'Browse the library in id order (keyset pagination).',
    query: ListQuery,
    responses: { 200: ok('One page of images.', ImagePage) },
  },
  {
    method: 'post',
    path: '/api/images',
    tag: 'images',
    summary: 'Upload images (multipart field `image`, one or more) and add them to the library.',
    write: true,
    multipart: { file: 'image', maxFiles: 'up to the server limit (default 16)' },
    responses: { 201: ok('What became of each file.', UploadResponse) },
  },
  {
    method: 'get',
    path: '/api/images/{id}',
    tag: 'images',
    summary: "An image's metadata: size, format, paths, vectors.",
    params: ImageIdParams,
    responses: { 200: ok('The image.', ImageDetail) },
  },
  {
    method: 'delete',
    path: '/api/images/{id}',
    tag: 'images',
    summary: 'Remove an image from the library (its files on disk are untouched).',
    write: true,
    params: ImageIdParams,
    responses: { 204: ok('Removed.') },
  },
  {
    method: 'get',
    path: '/api/images/{id}/similar',
    tag: 'search',
    summary: 'More like a library image (its stored vector is the query; nothing is encoded).',
    params: ImageIdParams,
    query: SimilarQuery,
    queued: true,
    responses: { 200: ok('Ranked results.', SearchResponse) },
  },
  {
    method: 'get',
    path: '/api/images/{id}/thumbnail',
    tag: 'images',
    summary: 'The 256 px JPEG thumbnail.',
    params: ImageIdParams,
    responses: {
      200: {
        description:
          'The thumbnail: JPEG (a library made by an earlier version may still answer WebP, as Content-Type says).',
        media: 'image/jpeg',
      },
    },
  },
  {
    method: 'get',
    path: '/api/images/{id}/file',
    tag: 'images',
    summary: 'The original file, served only from inside the library roots.',
    params: ImageIdParams,
    responses: { 200: { description: 'The original bytes.', media: 'application/octet-stream' } },
  },
  {
    method: 'post',
    path: '/api/ingest',
    tag: 'jobs',
    summary: 'Start a background ingest of a served root; poll the job for progress.',
    write: true,
    json: IngestBody,
    responses: { 202: ok('The job, queued or running.', JobResponse) },
  },
  {
    method: 'get',
    path: '/api/jobs',
    tag: 'jobs',
    summary: 'Recent jobs, newest first.',
    responses: { 200: ok('Jobs.', z.object({ jobs: z.array(JobResponse) })) },
  },
  {
    method: 'get',
    path: '/api/jobs/{id}',
    tag: 'jobs',
    summary: "A job's progress and, once finished, its summary.",
    params: JobIdParams,
    responses: { 200: ok('The job.', JobResponse) },
  },
  {
    method: 'get',
    path: '/api/stats',
    tag: 'system',
    summary: 'What the library holds, and the queues.',
    responses: { 200: ok('Statistics.', StatsResponse) },
  },
  {
    method: 'get',
    path: '/api/health',
    tag: 'system',
    summary: 'Liveness: 200 while the library is open and searchable.',
    responses: { 200: ok('Healthy.', HealthResponse) },
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    tag: 'system',
    summary: 'This document.',
    responses: { 200: { description: 'OpenAPI 3.1.', media: 'application/json' } },
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'system',
    summary: 'Prometheus metrics (text exposition format).',
    responses: { 200: { description: 'Metrics.', media: 'text/plain; version=0.0.4' } },
  },
];

/** Converts a schema to JSON Schema, moving named sub-schemas into `components`. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  const text = JSON.stringify(out).replaceAll('"#/$defs/', '"#/components/schemas/');
  const { $defs, ...rest } = JSON.parse(text) as Json & { $defs?: Json };
  delete rest['$schema'];
  Object.assign(components, $defs ?? {});
  return rest;
}

/** Each property of an object schema as an OpenAPI parameter. */
function parameters(schema: z.ZodObject, where: 'path' | 'query', components: Json): Json[] {
  const s = jsonSchema(schema, 'input', components) as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(s.properties ?? {}).map(([name, p]) => {
    const { description, ...rest } = p;
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

const errorDescriptions: Record<string, string> = {
  400: 'A bad request; the error names the field.',
  401: 'The API key is missing or wrong.',
  403: 'Refused: a write sent by a browser page of another origin (allow it with --cors), or an image whose files lie outside the served roots.',
  404: 'No such image or job.',
  409: 'The library is busy writing (another ingest, or another process holds the lock).',
  503: 'Too many requests queued: retry after Retry-After seconds.',
  507: "The server's disk is full: nothing was stored (unless the message names what was); retry once space is freed.",
};

export function openApiDocument(): Json {
  const components: Json = {};
  const paths: Record<string, Record<string, Json>> = {};
  const errorRef = jsonSchema(ErrorResponse, 'output', components);
  for (const r of ROUTES) {
    const params = [
      ...(r.params ? parameters(r.params, 'path', components) : []),
      ...(r.query ? parameters(r.query, 'query', components) : []),
    ];
    const content: Json = {};
    if (r.json) content['application/json'] = { schema: jsonSchema(r.json, 'input', components) };
    if (r.multipart) {
      const fields = r.multipart.fields
        ? (jsonSchema(r.multipart.fields, 'input', components) as Json)
        : { type: 'object' };
      content['multipart/form-data'] = {
        schema: {
          allOf: [
            fields,
            {
              type: 'object',
              required: [r.multipart.file],
              properties: {
                [r.multipart.file]: {
                  type: 'string',
                  format: 'binary',
                  description: `Image file(s), ${r.multipart.maxFiles}: JPEG, PNG, GIF, WebP, AVIF, TIFF or BMP, judged by content.`,
                },
              },
            },
          ],
        },
      };
    }
    const responses: Json = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      responses[status] = {
        description: resp.description,
        ...(resp.schema
          ? {
              content: {
                'application/json': { schema: jsonSchema(resp.schema, 'output', components) },
              },
            }
          : resp.media
            ? { content: { [resp.media]: {} } }
            : {}),
      };
    }
    const errors = [
      ...(params.length || r.json || r.multipart ? [400] : []),
      ...(r.write ? [401] : []),
      ...(r.write || r.params ? [403] : []),
      ...(r.write ? [409] : []),
      ...(r.params ? [404] : []),
      ...(r.queued || r.write ? [503] : []),
      ...(r.write ? [507] : []),
    ];
    for (const e of Object.keys(r.errors ?? {})) if (!errors.includes(+e)) errors.push(+e);
    for (const e of errors.sort((a, b) => a - b))
      responses[e] = {
        description: r.errors?.[e] ?? errorDescriptions[e],
        content: { 'application/json': { schema: errorRef } },
      };
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${r.path.replace(/[{}]/g, '').replace(/[/.](\w)/g, (_, c: string) => c.toUpperCase())}`,
      ...(params.length ? { parameters: params } : {}),
      ...(Object.keys(content).length ? { requestBody: { required: true, content } } : {}),
      ...(r.write ? { security: [{ bearer: [] }, { apiKey: [] }] } : {}),
      responses,
    };
  }
  // The CLI's own --json formats, beside the API's (one schema per wire format: src/wire.ts).
  for (const s of [SearchLine, DupeGroups, CliStats]) jsonSchema(s, 'output', components);
  return {
    openapi: '3.1.0',
    info: {
      title: 'matsearch',
      version: '1.0.0',
      description:
        'Adaptive image retrieval: search by example at a chosen encoder width, browse, upload and ingest. Write routes need the API key when the server has one. Every route answers 403 to a Host header that is not localhost, an IP address or a name the server was started with (--host, --allowed-host): DNS rebinding.',
    },
    tags: ['search', 'classify', 'images', 'jobs', 'system'].map((name) => ({ name })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}
