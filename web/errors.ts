/**
 * HTTP errors. Every error body is `{ error: { code, message, field? } }`; one middleware maps
 * the stable codes of src/errors.ts (and the few the server adds) to statuses, so a handler only
 * throws. Unknown errors become a 500 whose details go to the log, never to the client.
 */
import type { ErrorRequestHandler } from 'express';
import { MatsearchError } from '../src/errors.js';
import { isDiskFull } from '../ingest/fatal.js';

/** A request the server refuses for a reason the client can fix; `field` names the culprit. */
export class ApiError extends MatsearchError {
  constructor(
    code: string,
    message: string,
    readonly field?: string,
    readonly retryAfterS?: number,
  ) {
    super(code, message);
  }
}

/** A bad parameter or body field (400). */
export const badRequest = (field: string, message: string) =>
  new ApiError('E_VALIDATION', `${field}: ${message}`, field);

/** Too many requests queued (503 with Retry-After). */
export class BusyError extends ApiError {
  constructor(message: string, retryAfterS: number) {
    super('E_BUSY', message, undefined, retryAfterS);
  }
}

const STATUS: Record<string, number> = {
  E_VALIDATION: 400,
  E_SHAPE: 400,
  E_DECODE: 400,
  E_AUTH: 401,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_LOCKED: 409,
  E_CONFLICT: 409,
  E_MODEL_MISMATCH: 409,
  E_NO_HEAD: 409,
  E_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA: 415,
  E_BUSY: 503,
  E_NOT_OPEN: 503,
  E_INDEX: 503,
  E_DISK_FULL: 507,
};

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** The status and body for any thrown value (also used by tests of the mapping). */
export function toHttp(err: unknown): { status: number; body: ErrorBody; retryAfterS?: number } {
  // First: a full disk's own message names the server's folders, and says to rerun an ingest.
  if (isDiskFull(err))
    return {
      status: 507,
      body: {
        error: {
          code: 'E_DISK_FULL',
          message: "the server's disk is full; nothing was stored, try again later",
        },
      },
    };
  if (err instanceof MatsearchError) {
    const status = STATUS[err.code] ?? 500;
    if (status === 500) return internal();
    const field = err instanceof ApiError ? err.field : undefined;
    const retryAfterS = err instanceof ApiError ? err.retryAfterS : undefined;
    return {
      status,
      body: { error: { code: err.code, message: err.message, ...(field ? { field } : {}) } },
      ...(retryAfterS !== undefined ? { retryAfterS } : {}),
    };
  }
  const parser = bodyParserError(err);
  return parser ? { status: parser.status, body: { error: parser.error } } : internal();
}

const PARSER_CODES: Record<number, string> = {
  403: 'E_FORBIDDEN',
  413: 'E_TOO_LARGE',
  415: 'E_UNSUPPORTED_MEDIA',
};

/**
 * express's JSON parser refusing a body (malformed, too large, an unknown Content-Encoding or
 * charset, a broken gzip stream): always the client's to fix, never a 500.
 */
function bodyParserError(err: unknown): { status: number; error: ErrorBody['error'] } | undefined {
  const e = err as {
    type?: unknown;
    status?: unknown;
    expose?: unknown;
    message?: unknown;
    body?: unknown;
  } | null;
  // Its errors carry a `type`, or (a broken gzip stream: zlib's error) `expose` for a 4xx.
  if (typeof e?.status !== 'number' || e.status < 400 || e.status > 499) return undefined;
  if (typeof e.type !== 'string' && e.expose !== true) return undefined;
  const field = 'body';
  if (e.type === 'entity.parse.failed') {
    let json = false; // valid JSON the strict parser refused: null, a number, a string
    try {
      JSON.parse(String(e.body));
      json = true;
    } catch {
      // malformed
    }
    const message = json ? 'body: must be a JSON object' : 'body: not valid JSON';
    return { status: 400, error: { code: 'E_VALIDATION', message, field } };
  }
  if (e.type === 'entity.too.large')
    return {
      status: 413,
      error: { code: 'E_TOO_LARGE', message: 'body: the JSON body is too large', field },
    };
  const code = PARSER_CODES[e.status] ?? 'E_VALIDATION';
  const hint = e.type === 'charset.unsupported' ? '; send UTF-8' : '';
  return { status: e.status, error: { code, message: `body: ${String(e.message)}${hint}`, field } };
}

function internal() {
  return {
    status: 500,
    body: { error: { code: 'E_INTERNAL', message: 'internal error; see the server log' } },
  };
}

export function errorMiddleware(log: (msg: string) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const r = toHttp(err);
    if (r.status === 500) log(`${req.method} ${req.originalUrl}: ${(err as Error)?.stack ?? err}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (r.retryAfterS !== undefined) res.set('Retry-After', String(r.retryAfterS));
    if (r.status === 401) res.set('WWW-Authenticate', 'Bearer realm="matsearch"');
    res.status(r.status).json(r.body);
  };
}
