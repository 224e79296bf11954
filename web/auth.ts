/**
 * The API key for write routes (upload, delete, ingest). When the server has a key, a write
 * request must carry it as `Authorization: Bearer <key>` or `X-API-Key: <key>`; reads stay open.
 * Keys are compared by their SHA-256 in constant time, so timing says nothing about the key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ValidationError } from '../src/errors.js';
import { ApiError } from './errors.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * `key` if a client can send it: an empty key would mean no key, and a key that begins or ends
 * with whitespace could never match (header values arrive trimmed). `what` names its source.
 */
export function checkApiKey(key: string, what = 'the API key'): string {
  if (key.trim() === '')
    throw new ValidationError(
      `${what} is empty; give a key, or leave it out to serve without one (reads and writes open)`,
    );
  if (key !== key.trim())
    throw new ValidationError(
      `${what} begins or ends with whitespace, which no client can send (header values are trimmed); remove it`,
    );
  return key;
}

/** The key a request carries, if any. */
export function presentedKey(h: {
  authorization?: string | undefined;
  'x-api-key'?: string | string[] | undefined;
}): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(h.authorization ?? '')?.[1]?.trim();
  if (bearer) return bearer;
  const x = h['x-api-key'];
  return (Array.isArray(x) ? x[0] : x)?.trim() || undefined;
}

/** Middleware that lets a request through only with the key (a no-op when `key` is unset). */
export function requireKey(key: string | undefined): RequestHandler {
  if (!key) return (_req, _res, next) => next();
  const want = digest(key);
  return (req, _res, next) => {
    const got = presentedKey(req.headers);
    if (got === undefined)
      return next(
        new ApiError(
          'E_AUTH',
          'this route needs the API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
        ),
      );
    if (!timingSafeEqual(digest(got), want))
      return next(new ApiError('E_AUTH', 'the API key is wrong'));
    next();
  };
}
