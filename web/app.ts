/**
 * The REST API as an express app over a Library (no listening here: web/server.ts does that).
 *
 *   const { app, close } = createApp(library, { apiKey, roots: ['~/Pictures'] });
 *   http.createServer(app).listen(8080, '127.0.0.1');
 *
 * Every handler is a thin call into the library; the rules of HTTP (validation, limits, auth,
 * status codes) live in the small modules beside this one. The web UI (web/ui/) is served at `/`.
 */
import express, { type Express, type RequestHandler } from 'express';
import { NotFoundError, NotOpenError } from '../src/errors.js';
import type { Library } from '../src/library.js';
import { makeContext, type ApiContext, type ApiOptions } from './context.js';
import { errorMiddleware } from './errors.js';
import { classifyRoutes } from './routes/classify.js';
import { hostCheck, hostPolicy, originCheck } from './guards.js';
import { imageRoutes } from './routes/images.js';
import { jobRoutes } from './routes/jobs.js';
import { searchRoutes } from './routes/search.js';
import { systemRoutes } from './routes/system.js';
import { uiRoutes } from './routes/ui.js';
import { holdServing } from './serve-lock.js';
import { reconcileUploads } from './uploads.js';

export type { ApiOptions } from './context.js';

export interface ApiApp {
  readonly app: Express;
  readonly context: ApiContext;
  /** Stops background jobs (each finishes its batch and saves). The library stays open. */
  close(): Promise<void>;
}

/** Headers every response gets. */
const hardening: RequestHandler = (_req, res, next) => {
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('Referrer-Policy', 'no-referrer');
  next();
};

/** CORS for the listed origins only ('*' for any); with none configured this is never mounted. */
export function cors(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!origin || !(any || origins.includes(origin))) return next();
    res.set('Access-Control-Allow-Origin', any ? '*' : origin);
    res.vary('Origin');
    res.set('Access-Control-Expose-Headers', 'Retry-After, Location');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.set('Access-Control-Allow-Methods', 'GET, POST, DELETE');
      res.set('Access-Control-Allow-Headers', 'Authorization, X-API-Key, Content-Type');
      res.set('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

/** How often the server looks for vectors other processes wrote (a CLI ingest while serving). */
const REFRESH_MS = 1000;

function refreshIndex(library: Library, log: (m: string) => void): void {
  try {
    library.refresh(); // one row read when nothing changed
  } catch (err) {
    if (!(err instanceof NotOpenError)) log(`index refresh failed: ${(err as Error).message}`);
  }
}

export function createApp(library: Library, o: ApiOptions = {}): ApiApp {
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const startedAt = Date.now();
  const serving = holdServing(library.dir); // a second server on the library is refused
  const ctx = makeContext(library, o);
  try {
    if (serving.first) {
      const u = reconcileUploads(ctx.uploadsDir, library.store, startedAt);
      if (u.relinked > 0) log(`re-pointed ${u.relinked} upload path(s) at the library's folder`);
      if (u.removed > 0)
        log(`removed ${u.removed} file(s) left in uploads/ by interrupted uploads`);
    }
  } catch (err) {
    serving.release();
    throw err;
  }
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple'); // no nested objects from query strings
  app.use(hardening, ctx.metrics.middleware(), hostCheck(hostPolicy(o.bindHost, o.allowedHosts)));
  if (o.cors?.length) app.use(cors(o.cors));
  app.use(originCheck(o.cors), express.json({ limit: '64kb' }));
  app.use(searchRoutes(ctx), classifyRoutes(ctx), imageRoutes(ctx), jobRoutes(ctx));
  app.use(systemRoutes(ctx));
  if (o.ui !== false) app.use(uiRoutes());
  app.use((req, _res, next) => next(new NotFoundError(`no route ${req.method} ${req.path}`)));
  app.use(errorMiddleware(log));
  const refresh = setInterval(() => refreshIndex(library, log), REFRESH_MS).unref();
  ctx.refiner?.start();
  return {
    app,
    context: ctx,
    close: async () => {
      clearInterval(refresh);
      await ctx.refiner?.stop();
      await ctx.jobs.stop();
      serving.release();
    },
  };
}
