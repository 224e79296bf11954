/**
 * The web UI: static files from web/ui/ (plain HTML, CSS and ES modules, no build step) at `/`.
 * A strict Content-Security-Policy keeps the page to this server: no external scripts, fonts or
 * images, nothing downloaded from anywhere else, no inline script.
 */
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { NotFoundError } from '../../src/errors.js';
import { isInside } from '../files.js';

/** web/ui/ in the source tree: two levels up from dist/web/routes/, or beside this file's parent. */
export const UI_DIR = [
  new URL('../../../web/ui/', import.meta.url),
  new URL('../ui/', import.meta.url),
]
  .map((u) => fileURLToPath(u))
  .find((d) => existsSync(`${d}index.html`));

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function uiRoutes(dir = UI_DIR): Router {
  const r = Router();
  if (!dir) return r; // an install without the UI files: the API still works
  const root = realpathSync(dir);
  r.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    res.locals['route'] = 'ui'; // one metrics label for every static file
    // express.static follows symlinks: a link in the UI folder must not serve a file outside it.
    let target: string;
    try {
      target = realpathSync(join(root, decodeURIComponent(req.path)));
    } catch {
      return next(); // no such file, or a malformed path: express.static answers
    }
    if (!isInside(root, target)) return next(new NotFoundError(`no route GET ${req.path}`));
    next();
  });
  r.use(
    express.static(dir, {
      index: 'index.html',
      dotfiles: 'ignore',
      redirect: false,
      setHeaders(res) {
        res.set('Content-Security-Policy', UI_CSP);
        res.set('Cache-Control', 'no-cache'); // revalidate (ETag): a rebuilt UI shows at once
      },
    }),
  );
  return r;
}
