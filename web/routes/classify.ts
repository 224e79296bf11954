/**
 * POST /api/classify: the served model's classes for an uploaded image. It holds a search slot
 * (web/limits.ts) while it decodes and classifies, like a search; a model without a head is
 * refused (409, E_NO_HEAD) before the upload is read.
 */
import { Router, type RequestHandler } from 'express';
import { checkCanClassify } from '../../src/classify/classify.js';
import { checkWidth, type ApiContext } from '../context.js';
import { badRequest } from '../errors.js';
import { ClassifyForm, parseRequest } from '../schemas.js';
import { checkUpload, multipart, uploadedFiles } from '../uploads.js';

export function classifyRoutes(ctx: ApiContext): Router {
  const r = Router();
  const requireHead: RequestHandler = (_req, _res, next) => {
    checkCanClassify(ctx.library.embedder);
    next();
  };
  const gate = ctx.gates.search.middleware();
  r.post(
    '/api/classify',
    requireHead,
    multipart('image', 1, ctx.limits),
    gate,
    async (req, res) => {
      const t0 = (res.locals['t0'] as number | undefined) ?? performance.now();
      if (!req.is('multipart/form-data'))
        throw badRequest('image', 'send the image as multipart/form-data in the field "image"');
      const p = parseRequest(ClassifyForm, { ...req.body }, 'body');
      if (p.width === 'auto') throw badRequest('width', "'auto' is for searches; name a width");
      checkWidth(ctx, p.width);
      const file = uploadedFiles(req.files)[0];
      if (!file) throw badRequest('image', 'attach the image as the multipart file field "image"');
      const { bytes } = await checkUpload(file, 'image', ctx.limits);
      const c = await ctx.library.classifyBytes(bytes, {
        ...(p.width !== undefined ? { width: p.width } : {}),
        ...(p.top !== undefined ? { top: p.top } : {}),
      });
      res.json({
        classes: c.classes,
        width: c.width,
        model_id: c.modelId,
        timings_ms: {
          queue: (res.locals['queueMs'] as number | undefined) ?? 0,
          total: performance.now() - t0,
        },
      });
    },
  );
  return r;
}
