/**
 * The REST API as the page uses it (same origin, JSON, snake_case as on the wire).
 * Every call rejects with an ApiError carrying the server's message and status.
 */

export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string} [code]
   */
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {string} path
 * @param {RequestInit} [init]
 */
async function call(path, init = {}) {
  let res;
  try {
    res = await fetch(path, { ...init, headers: { accept: 'application/json', ...init.headers } });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError('the server cannot be reached; is matsearch still running?', 0);
  }
  const body = (res.headers.get('content-type') ?? '').includes('json') ? await res.json() : null;
  if (!res.ok) {
    const e = body?.error;
    const retry = res.headers.get('retry-after');
    const message = e?.message ?? `${res.status} ${res.statusText}`;
    throw new ApiError(retry ? `${message} (retry in ${retry} s)` : message, res.status, e?.code);
  }
  return body;
}

/** Search parameters: k, width, budget_ms, rerank, min_score (undefined ones are left out). */
function fields(params) {
  return Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
}

/**
 * POST /api/search with an image (multipart) or a library image id (JSON).
 * @param {{blob?: Blob, name?: string, id?: number}} query
 * @param {Record<string, unknown>} params
 * @param {AbortSignal} [signal]
 */
export function search(query, params, signal) {
  if (query.blob) {
    const form = new FormData();
    for (const [k, v] of fields(params)) form.append(k, String(v));
    form.append('image', query.blob, query.name ?? 'query');
    return call('/api/search', { method: 'POST', body: form, signal });
  }
  return call('/api/search', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: query.id, ...Object.fromEntries(fields(params)) }),
    signal,
  });
}

/** GET /api/images/:id/similar (the stored vector is the query). */
export function similar(id, params = {}, signal) {
  const q = new URLSearchParams(fields(params).map(([k, v]) => [k, String(v)]));
  return call(`/api/images/${id}/similar?${q}`, { signal });
}

/** GET /api/images?cursor=&limit= */
export function listImages(cursor, limit, signal) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (cursor) q.set('cursor', cursor);
  return call(`/api/images?${q}`, { signal });
}

export const getImage = (id, signal) => call(`/api/images/${id}`, { signal });
export const health = () => call('/api/health');
export const stats = () => call('/api/stats');

/** Formats the search route accepts (web/sniff.ts); an SVG original goes by its thumbnail. */
const RASTER = /^image\/(jpeg|png|gif|webp|avif|tiff)\b/;

/**
 * A library image as a query file: the original when the server may serve it and accepts its
 * format as a query, else the thumbnail (always there, small, JPEG).
 * @param {{file_url?: string, thumbnail_url: string}} img
 */
export async function imageBlob(img, signal) {
  for (const url of [img.file_url, img.thumbnail_url]) {
    if (!url) continue;
    try {
      const res = await fetch(url, { signal });
      if (!res.ok || !RASTER.test(res.headers.get('content-type') ?? '')) continue;
      const blob = await res.blob();
      if (blob.size > 0 && blob.size <= 16 * 1024 * 1024) return blob;
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
    }
  }
  throw new ApiError('this image cannot be fetched from the server', 404);
}
