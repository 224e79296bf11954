/** POST /api/ingest starts a background ingest of a served root; GET /api/jobs[/:id] reports. */
import { resolve } from 'node:path';
import { Router } from 'express';
import { NotFoundError } from '../../src/errors.js';
import { ingestJson } from '../../src/wire-json.js';
import { requireKey } from '../auth.js';
import { checkWidth, type ApiContext } from '../context.js';
import { badRequest } from '../errors.js';
import { jsonOnly } from '../guards.js';
import type { Job } from '../jobs.js';
import { IngestBody, JobIdParams, parseRequest } from '../schemas.js';

export const jobUrl = (id: number) => `/api/jobs/${id}`;

export function presentJob(j: Job) {
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    roots: [...j.roots],
    total: j.total,
    done: j.done,
    embedded: j.embedded,
    errors: j.errors,
    started_at: new Date(j.startedAt).toISOString(),
    finished_at: j.finishedAt === null ? null : new Date(j.finishedAt).toISOString(),
    summary: j.summary ? ingestJson(j.summary) : null,
    messages: j.messages,
    url: jobUrl(j.id),
  };
}

export function jobRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.post('/api/ingest', requireKey(ctx.apiKey), jsonOnly, (req, res) => {
    const body = parseRequest(IngestBody, req.body, 'body');
    const served = ctx.ingestRoots();
    if (served.length === 0)
      throw badRequest('root', 'the server has no roots to ingest; start it with --root DIR');
    let roots = served;
    if (body.root !== undefined) {
      const want = resolve(body.root);
      if (!served.includes(want))
        throw badRequest(
          'root',
          `${body.root} is not one of the served roots: ${served.join(', ')}`,
        );
      roots = [want];
    }
    checkWidth(ctx, body.width);
    const job = ctx.jobs.start(roots, {
      ...(body.prune !== undefined ? { prune: body.prune } : {}),
      ...(body.width !== undefined ? { width: body.width } : {}),
    });
    res.status(202).location(jobUrl(job.id)).json(presentJob(job));
  });

  r.get('/api/jobs', (_req, res) => {
    res.json({ jobs: ctx.jobs.list().map(presentJob) });
  });

  r.get('/api/jobs/:id', (req, res) => {
    const { id } = parseRequest(JobIdParams, req.params, 'id');
    const job = ctx.jobs.get(id);
    if (!job) throw new NotFoundError(`no job ${id} (jobs are kept while the server runs)`);
    res.json(presentJob(job));
  });

  return r;
}
