/**
 * POST /api/search and GET /api/images/:id/similar. Both hold a search slot (web/limits.ts)
 * while they decode and search; an upload is read (and size-checked) before its slot is taken,
 * so a client sending its body slowly holds a connection (until the server's request timeout),
 * never a slot.
 */
import { Router, type Request } from 'express';
import { NotFoundError } from '../../src/errors.js';
import type { SearchOptions, SearchResponse } from '../../src/search/searcher.js';
import { searchJson } from '../../src/wire-json.js';
import { checkWidth, type ApiContext } from '../context.js';
import { badRequest } from '../errors.js';
import { ShownImages } from '../files.js';
import { ImageIdParams, parseRequest, SearchForm, SearchJson, SimilarQuery } from '../schemas.js';
import { checkUpload, multipart, uploadedFiles } from '../uploads.js';

interface SearchParams {
  k?: number;
  width?: string;
  budget_ms?: number;
  rerank?: 'full' | 'none';
  refine?: boolean;
  min_score?: number;
  shortlist?: number;
}

/**
 * Request parameters to library options; a width the model cannot run is a 400 on `width`.
 * With a server target (--target-ms), no width means 'auto' and the target is its budget; the
 * search queue at this moment is the load 'auto' weighs.
 */
function searchOptions(ctx: ApiContext, p: SearchParams): SearchOptions {
  checkWidth(ctx, p.width);
  const width = p.width ?? (ctx.targetMs !== undefined ? 'auto' : undefined);
  const budgetMs = p.budget_ms ?? (width === 'auto' ? ctx.targetMs : undefined);
  if (width === 'auto' && budgetMs === undefined)
    throw badRequest(
      'budget_ms',
      "is required when width is 'auto' (the server has no --target-ms)",
    );
  const gate = ctx.gates.search.stats();
  return {
    ...(p.k !== undefined ? { k: p.k } : {}),
    ...(width !== undefined ? { width } : {}),
    ...(budgetMs !== undefined ? { budgetMs } : {}),
    ...(width === 'auto' ? { load: { waiting: gate.waiting, concurrency: gate.concurrency } } : {}),
    ...(p.rerank !== undefined ? { rerank: p.rerank } : {}),
    ...(p.refine !== undefined ? { refine: p.refine } : {}),
    ...(p.min_score !== undefined ? { minScore: p.min_score } : {}),
    ...(p.shortlist !== undefined ? { shortlist: p.shortlist } : {}),
  };
}

export const imageUrl = (id: number) => `/api/images/${id}`;

/** The library's response in the wire format, with URLs and the server-side stage timings. */
function present(
  ctx: ApiContext,
  r: SearchResponse,
  t: { t0: number; queueMs: number; decodeMs: number },
) {
  const total = performance.now() - t.t0;
  const shown = new ShownImages(ctx.fileRoots());
  ctx.metrics.observeSearch(r.widths.query, {
    encode: r.timings.encode,
    ...(r.refined ? { refine_encode: r.timings.refineEncode } : {}),
    coarse: r.timings.coarse,
    rerank: r.timings.rerank,
    total,
  });
  return searchJson(r, { queueMs: t.queueMs, decodeMs: t.decodeMs, totalMs: total }, (h) => ({
    path: shown.shows(h.paths) ? h.path : null,
    image_url: imageUrl(h.id),
    thumbnail_url: `${imageUrl(h.id)}/thumbnail`,
    file_url: `${imageUrl(h.id)}/file`,
  }));
}

function requireImage(ctx: ApiContext, id: number): void {
  if (!ctx.library.store.getImage(id)) throw new NotFoundError(`image ${id} is not in the library`);
}

type Locals = { locals: Record<string, unknown> };
const queueMsOf = (res: Locals) => (res.locals['queueMs'] as number | undefined) ?? 0;
/** When the request arrived (set by the metrics middleware). */
const arrivalOf = (res: Locals) => (res.locals['t0'] as number | undefined) ?? performance.now();

async function search(ctx: ApiContext, req: Request, t0: number, queueMs: number) {
  if (req.is('multipart/form-data')) {
    const p = parseRequest(SearchForm, { ...req.body }, 'body');
    const file = uploadedFiles(req.files)[0];
    if (!file)
      throw badRequest('image', 'attach the query image as the multipart file field "image"');
    const { bytes } = await checkUpload(file, 'image', ctx.limits);
    const o = searchOptions(ctx, p);
    const ts = performance.now();
    const r = await ctx.library.searchBytes(bytes, o);
    const decodeMs = Math.max(0, performance.now() - ts - r.timings.total);
    return present(ctx, r, { t0, queueMs, decodeMs });
  }
  if (req.is('application/json')) {
    const p = parseRequest(SearchJson, req.body, 'body');
    const o = searchOptions(ctx, p);
    requireImage(ctx, p.id);
    const r = await ctx.library.similar(p.id, o);
    return present(ctx, r, { t0, queueMs, decodeMs: 0 });
  }
  throw badRequest(
    'image',
    'send the query image as multipart/form-data in the field "image", or JSON {"id": N} for a library image',
  );
}

export function searchRoutes(ctx: ApiContext): Router {
  const r = Router();
  const gate = ctx.gates.search.middleware();
  r.post('/api/search', multipart('image', 1, ctx.limits), gate, async (req, res) => {
    res.json(await search(ctx, req, arrivalOf(res), queueMsOf(res)));
  });
  r.get('/api/images/:id/similar', gate, async (req, res) => {
    const { id } = parseRequest(ImageIdParams, req.params, 'id');
    const o = searchOptions(ctx, parseRequest(SimilarQuery, req.query, 'query'));
    requireImage(ctx, id);
    const result = await ctx.library.similar(id, o);
    res.json(present(ctx, result, { t0: arrivalOf(res), queueMs: queueMsOf(res), decodeMs: 0 }));
  });
  return r;
}
