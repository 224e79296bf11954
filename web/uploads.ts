/**
 * Uploads: multipart parsing with hard limits (bytes per file, files per request, field sizes),
 * then each file is checked by content (magic bytes) and by its header's pixel count before
 * anything decodes it. Saved uploads are named by content hash in the library's uploads folder,
 * so the same picture uploaded twice is one file.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join, sep } from 'node:path';
import type { PathRow, Store } from '../src/store/store.js';
import type { RequestHandler } from 'express';
import multer from 'multer';
import { imageHeader } from '../ingest/decode.js';
import { ApiError, badRequest } from './errors.js';
import { ACCEPTED_FORMATS, sniffImage, type Sniffed } from './sniff.js';

export interface UploadLimits {
  /** Largest file, in bytes (default 25 MiB). */
  readonly maxBytes: number;
  /** Largest image, in pixels (default 40 M), read from the header before decoding. */
  readonly maxPixels: number;
  /** Most files in one POST /api/images (default 16; a search takes one). */
  readonly maxFiles: number;
}

export const UPLOAD_DEFAULTS: UploadLimits = {
  maxBytes: 25 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxFiles: 16,
};

/** Parses a multipart body with up to `maxFiles` files in `field` into memory (req.files). */
export function multipart(field: string, maxFiles: number, limits: UploadLimits): RequestHandler {
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: {
      fileSize: limits.maxBytes,
      files: maxFiles,
      fields: 32,
      fieldSize: 4096,
      parts: maxFiles + 32,
    },
  }).array(field, maxFiles);
  return (req, res, next) =>
    parse(req, res, (err?: unknown) => next(err === undefined ? undefined : multipartError(err)));

  function multipartError(err: unknown): unknown {
    if (!(err instanceof multer.MulterError)) {
      const msg = (err as Error)?.message ?? String(err);
      return new ApiError('E_VALIDATION', `body: malformed multipart form (${msg})`, 'body');
    }
    const f = err.field ?? field;
    switch (err.code) {
      case 'LIMIT_FILE_SIZE':
        return new ApiError(
          'E_TOO_LARGE',
          `${f}: ${(err as { filename?: string }).filename ?? 'the file'} is over the ${limits.maxBytes}-byte upload limit`,
          f,
        );
      case 'LIMIT_FILE_COUNT':
        return badRequest(field, `at most ${maxFiles} file(s) per request`);
      case 'LIMIT_UNEXPECTED_FILE':
        return f === field
          ? badRequest(field, `at most ${maxFiles} file(s) per request`)
          : badRequest(f, `unexpected file field; send the image in the field '${field}'`);
      default:
        return badRequest(f, err.message.toLowerCase());
    }
  }
}

export interface CheckedUpload {
  readonly bytes: Buffer;
  readonly name: string;
  readonly sniffed: Sniffed;
  readonly width: number;
  readonly height: number;
}

/** The files a multipart handler put on req.files (an array field). */
export function uploadedFiles(files: unknown): Express.Multer.File[] {
  return Array.isArray(files) ? (files as Express.Multer.File[]) : [];
}

/** Refuses a file that is empty, not an accepted image by its content, or over the pixel cap. */
export async function checkUpload(
  file: Express.Multer.File,
  field: string,
  limits: UploadLimits,
): Promise<CheckedUpload> {
  const name = file.originalname || 'upload';
  const bytes = file.buffer;
  if (!bytes || bytes.length === 0) throw badRequest(field, `${name} is empty`);
  const sniffed = sniffImage(bytes);
  if (!sniffed)
    throw new ApiError(
      'E_UNSUPPORTED_MEDIA',
      `${field}: ${name} is not a ${ACCEPTED_FORMATS.join(', ')} image (judged by its content, not its name)`,
      field,
    );
  let width = 0;
  let height = 0;
  try {
    const meta = await imageHeader(bytes); // header only, kept for the decode that follows
    width = meta.width ?? 0;
    height = meta.height ?? 0;
  } catch {
    // an unreadable header: refused below
  }
  if (!width || !height) throw badRequest(field, `${name} is not a readable ${sniffed.format}`);
  if (width * height > limits.maxPixels)
    throw new ApiError(
      'E_TOO_LARGE',
      `${field}: ${name} is ${width}x${height} = ${((width * height) / 1e6).toFixed(1)} MP, over the ${(limits.maxPixels / 1e6).toFixed(1)} MP limit`,
      field,
    );
  return { bytes, name, sniffed, width, height };
}

/** Writes an upload into `dir` under its content hash (atomically); returns the path and hash. */
export function saveUpload(dir: string, u: CheckedUpload): { path: string; hash: string } {
  mkdirSync(dir, { recursive: true });
  const hash = createHash('sha256').update(u.bytes).digest('hex');
  const path = join(dir, `${hash.slice(0, 24)}.${u.sniffed.ext}`);
  if (existsSync(path)) return { path, hash }; // the same content: keep the file and its mtime
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    // On disk before the database commit that acknowledges it: file, then its directory entry.
    const fd = openSync(tmp, 'w');
    try {
      for (let off = 0; off < u.bytes.length;) off += writeSync(fd, u.bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (err) {
    rmSync(tmp, { force: true }); // a full disk: leave no partial file behind
    throw err;
  }
  return { path, hash };
}

/** The real path of `p`, or undefined when nothing is there. */
function real(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Reconciles `dir` (the library's uploads) with the database at a server's start, before any
 * request, under the serve lock (so no other server is uploading). A file is the library's when a
 * path row names it: by the same spelling, by another spelling of the same real file (opened
 * through a link), or by a path that no longer exists under any `uploads/` folder with its name
 * (the library was moved or renamed): such rows are re-pointed at the file as spelled now. What
 * nothing references and is older than `startedAt` was left by an interrupted upload and goes,
 * with temp files. Returns how many files went and how many rows were re-pointed.
 */
export function reconcileUploads(
  dir: string,
  store: Store,
  startedAt: number,
): { removed: number; relinked: number } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { removed: 0, relinked: 0 }; // no uploads yet
  }
  let removed = 0;
  let relinked = 0;
  let byName: Map<string, PathRow[]> | undefined; // rows under any uploads/ folder, by file name
  const spelledElsewhere = (name: string) => {
    if (!byName) {
      byName = new Map();
      const marker = `${sep}uploads${sep}`;
      for (const r of store.pathsContaining(marker)) {
        const i = r.path.lastIndexOf(marker);
        const n = r.path.slice(i + marker.length);
        if (!n.includes(sep)) byName.set(n, [...(byName.get(n) ?? []), r]);
      }
    }
    return byName.get(name) ?? [];
  };
  for (const name of names) {
    const path = join(dir, name);
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      continue; // gone meanwhile
    }
    if (!st.isFile()) continue;
    if (!name.endsWith('.tmp') && store.findPath(path)) continue;
    const here = real(path);
    const rows = name.endsWith('.tmp') ? [] : spelledElsewhere(name);
    const ours = rows.filter((r) => {
      const there = real(r.path);
      return there === undefined || there === here;
    });
    if (ours.length > 0) {
      store.transaction(() => {
        store.movePath(ours[0]!.path, path, path); // an upload is its own root
        for (const r of ours.slice(1)) store.removePath(r.path); // the same file, spelled again
      });
      relinked += ours.length;
      continue;
    }
    if (st.mtimeMs >= startedAt) continue; // not provably left by a dead server
    rmSync(path, { force: true });
    removed++;
  }
  return { removed, relinked };
}
