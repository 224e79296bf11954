/**
 * The image resource: browse (keyset pages), metadata, thumbnail, original file, upload, delete.
 * Uploads and deletes are write routes: API key, the write gate, and a 409 while an ingest runs.
 */
import { rmSync } from 'node:fs';
import { basename } from 'node:path';
import { Router, type RequestHandler, type Response } from 'express';
import sharp from '../../src/util/sharp.js';
import { decodedBytes, decodeMemory } from '../../ingest/decode.js';
import { NotFoundError } from '../../src/errors.js';
import type { ImageRow } from '../../src/store/store.js';
import { requireKey } from '../auth.js';
import type { ApiContext } from '../context.js';
import { isDiskFull } from '../../ingest/fatal.js';
import { ApiError, badRequest } from '../errors.js';
import { isInside, servableFile, shownImage } from '../files.js';
import { thumbnailMime } from '../../ingest/thumbs.js';
import { ImageIdParams, ListQuery, parseRequest } from '../schemas.js';
import { checkUpload, multipart, saveUpload, uploadedFiles } from '../uploads.js';
import { imageUrl } from './search.js';

function summary(ctx: ApiContext, img: ImageRow, roots: readonly string[]) {
  const paths = ctx.library.store.pathsOf(img.id);
  return {
    id: img.id,
    width: img.width,
    height: img.height,
    format: img.format,
    size: img.size,
    status: img.status,
    added_at: new Date(img.addedAt).toISOString(),
    path: shownImage(paths, roots) ? (paths[0] ?? null) : null,
    url: imageUrl(img.id),
    thumbnail_url: `${imageUrl(img.id)}/thumbnail`,
  };
}

function imageOr404(ctx: ApiContext, id: number): ImageRow {
  const img = ctx.library.store.getImage(id);
  if (!img) throw new NotFoundError(`image ${id} is not in the library`);
  return img;
}

/** The image, if it may be shown at all (web/files.ts shownImage); else 403 as for its file. */
function shownOr403(ctx: ApiContext, id: number): ImageRow {
  const img = imageOr404(ctx, id);
  if (!shownImage(ctx.library.store.pathsOf(id), ctx.fileRoots()))
    throw new ApiError(
      'E_FORBIDDEN',
      `the files of image ${id} are outside the library roots; nothing of it is shown`,
    );
  return img;
}

/**
 * res.sendFile as a promise; a client that went away mid-transfer is not an error, and a file
 * gone by the time it is opened (its image deleted meanwhile) is `gone`.
 */
function sendFile(
  res: Response,
  path: string,
  headers: Record<string, string>,
  gone: () => Error,
): Promise<void> {
  return new Promise((resolve, reject) =>
    res.sendFile(path, { headers, dotfiles: 'allow', lastModified: true }, (err) => {
      if (!err || res.headersSent) return resolve();
      reject((err as { code?: string }).code === 'ENOENT' ? gone() : err);
    }),
  );
}

/**
 * Refuses (413) an upload whose files together would need more decode memory than the whole
 * process has (pixels x channels x bytes per sample, from their headers): it could never run.
 */
async function checkDecodeBudget(files: readonly Buffer[]): Promise<void> {
  let need = 0;
  for (const b of files)
    need += decodedBytes(await sharp(b, { limitInputPixels: false }).metadata());
  if (need <= decodeMemory.budget) return;
  throw new ApiError(
    'E_TOO_LARGE',
    `image: these ${files.length} files need about ${(need / 1e6).toFixed(1)} MB to decode, over the ${(decodeMemory.budget / 1e6).toFixed(1)} MB one request may use; send fewer at a time`,
    'image',
  );
}

/** Writes wait for no background ingest: they are refused while one runs. */
export function refuseWhileIngesting(ctx: ApiContext): RequestHandler {
  return (_req, res, next) => {
    const job = ctx.jobs.active;
    if (!job) return next();
    res.set('Retry-After', '10');
    next(
      new ApiError(
        'E_CONFLICT',
        `the library is busy with ingest job ${job.id}; try again when it finishes (GET /api/jobs/${job.id})`,
      ),
    );
  };
}

export function imageRoutes(ctx: ApiContext): Router {
  const r = Router();
  const { library, limits } = ctx;
  const guard = [requireKey(ctx.apiKey), refuseWhileIngesting(ctx)];
  const write = [...guard, ctx.gates.write.middleware()];

  r.get('/api/images', (req, res) => {
    const q = parseRequest(ListQuery, req.query, 'query');
    const limit = q.limit ?? 50;
    const rows = library.store.listImages(q.cursor ? Number(q.cursor) : 0, limit + 1);
    const page = rows.slice(0, limit);
    const roots = ctx.fileRoots();
    res.json({
      images: page.map((img) => summary(ctx, img, roots)),
      next_cursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
    });
  });

  r.get('/api/images/:id', (req, res) => {
    const { id } = parseRequest(ImageIdParams, req.params, 'id');
    const img = shownOr403(ctx, id);
    const vectors = [...library.store.widestEmbeddingsOf(id, library.embedder.modelId)];
    res.json({
      ...summary(ctx, img, ctx.fileRoots()),
      hash: img.hash,
      error: img.error,
      paths: library.store.pathsOf(id),
      vectors: vectors.map((v) => ({ width: v.width })),
      file_url: `${imageUrl(id)}/file`,
      similar_url: `${imageUrl(id)}/similar`,
    });
  });

  r.get('/api/images/:id/thumbnail', async (req, res) => {
    const { id } = parseRequest(ImageIdParams, req.params, 'id');
    const img = shownOr403(ctx, id);
    const gone = () =>
      new NotFoundError(
        library.store.getImage(id)
          ? `image ${id} has no thumbnail; run an ingest again to rebuild it`
          : `image ${id} is not in the library`,
      );
    const path = library.thumbnailOf(id);
    if (!path) throw gone();
    await sendFile(
      res,
      path,
      { 'Content-Type': thumbnailMime(path), 'Cache-Control': 'no-cache', ETag: `"${img.hash}"` },
      gone,
    );
  });

  r.get('/api/images/:id/file', async (req, res) => {
    const { id } = parseRequest(ImageIdParams, req.params, 'id');
    imageOr404(ctx, id);
    const path = servableFile(id, library.store.pathsOf(id), ctx.fileRoots());
    const gone = () => new NotFoundError(`the original file of image ${id} is no longer on disk`);
    await sendFile(
      res,
      path,
      {
        // An original may be an SVG: never let it run script or be sniffed as something else.
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        'Content-Disposition': `inline; filename*=UTF-8''${encodeURIComponent(basename(path))}`,
        'Cache-Control': 'no-cache',
      },
      gone,
    );
  });

  // The body is read before the write slot is taken: a slow uploader must not hold it.
  const upload = multipart('image', limits.maxFiles, limits);
  r.post('/api/images', ...guard, upload, ctx.gates.write.middleware(), async (req, res) => {
    const files = uploadedFiles(req.files);
    if (files.length === 0)
      throw badRequest('image', 'attach one or more image files in the multipart field "image"');
    const checked = [];
    for (const f of files) checked.push(await checkUpload(f, 'image', limits));
    await checkDecodeBudget(checked.map((c) => c.bytes));
    const saved = checked.map((c) => {
      const { path, hash } = saveUpload(ctx.uploadsDir, c);
      return { name: c.name, path, known: !!library.store.findImageByHash(hash) };
    });
    const paths = [...new Set(saved.map((x) => x.path))];
    const s = await library
      .ingest(paths, { decode: { maxPixels: limits.maxPixels, maxBytes: limits.maxBytes } })
      .catch((err: unknown) => {
        // Not added (the library is locked by another process, ...): keep no orphan file.
        for (const p of paths) if (!library.store.findPath(p)) rmSync(p, { force: true });
        throw storedAnyway(err, saved, (p) => !!library.store.findPath(p));
      });
    const errors = new Map(s.errors.map((e) => [e.path, e.error]));
    const images = saved.map(({ name, path, known }) => {
      const row = library.store.findPath(path);
      if (!row) {
        // Not decodable after all: keep neither the file nor its failure record.
        rmSync(path, { force: true });
        library.store.clearFailure(path);
        // In the client's terms: its file name, never the server's folders.
        const error = (errors.get(path) ?? 'could not be added')
          .replaceAll(path, name)
          .replaceAll(library.dir, 'the library');
        return { name, status: 'failed' as const, id: null, error, url: null };
      }
      const status = known ? ('known' as const) : ('added' as const);
      return { name, status, id: row.imageId, error: null, url: imageUrl(row.imageId) };
    });
    if (images.every((x) => x.status === 'failed'))
      throw new ApiError('E_DECODE', `image: ${images[0]!.error}`, 'image');
    res.status(201).json({ images });
  });

  r.delete('/api/images/:id', ...write, async (req, res) => {
    const { id } = parseRequest(ImageIdParams, req.params, 'id');
    const own = library.store.pathsOf(id).filter((p) => isInside(ctx.uploadsDir, p));
    if (!(await library.remove(id))) throw new NotFoundError(`image ${id} is not in the library`);
    for (const p of own) rmSync(p, { force: true }); // an upload's copy belongs to the library
    res.status(204).end();
  });

  return r;
}

/**
 * A full disk after some of an upload was committed (the index save after the commit failed):
 * an answer that says what was stored, since the usual one says nothing was. The images are in
 * the database and searchable now; the next open repairs the index from it.
 */
function storedAnyway(
  err: unknown,
  saved: readonly { name: string; path: string }[],
  isStored: (path: string) => boolean,
): unknown {
  if (!isDiskFull(err)) return err;
  const names = saved.filter((x) => isStored(x.path)).map((x) => x.name);
  if (names.length === 0) return err;
  const rest = saved.length - names.length;
  return new ApiError(
    'E_DISK_FULL',
    `the server's disk is full: ${names.join(', ')} ${names.length === 1 ? 'was' : 'were'} stored and can be searched, but the search index could not be saved (it is repaired when the library next opens)${rest > 0 ? `; ${rest} other file${rest === 1 ? ' was' : 's were'} not stored` : ''}. Free some space before uploading more`,
  );
}
