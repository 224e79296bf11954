/**
 * The jobs on the queue: what the producer puts in (a file on shared storage and how to make its
 * vector), what a worker gives back (metadata, thumbnail, vector), and the job id that makes
 * queueing idempotent. Vectors travel as base64 float32 (bit-exact); thumbnails as base64 WebP.
 */
import { createHash } from 'node:crypto';
import { ShapeError } from '../src/errors.js';
import type { FailureLimit } from '../src/store/store.js';
import type { EmbeddedImage } from '../ingest/stage.js';
import type { FoundFile } from '../ingest/walk.js';

/** BullMQ job name of an embedding job. */
export const JOB_NAME = 'embed';

export interface EmbedJobData {
  /** Absolute path, readable at the same place by every worker (shared storage). */
  readonly path: string;
  readonly root: string;
  /** Size and mtime the producer saw (written with the path). */
  readonly size: number;
  readonly mtimeMs: number;
  /** sha256 of the bytes the producer read; a worker refuses a file that no longer matches. */
  readonly hash: string;
  /** The model every worker must run (its id names the weights). */
  readonly modelId: string;
  /** Canonical width label ("1", "1/4", "1/8x10,1/4x10"). */
  readonly width: string;
  /** The run's decode limits (ingest/decode.ts DecodeOptions, less the model's input size). */
  readonly decode: {
    maxPixels: number;
    maxBytes: number;
    thumbnailSize: number;
    timeoutMs?: number;
  };
  /** Set by a worker just before it fails the job because the file is not a usable image. */
  readonly badFile?: boolean;
  /** With badFile: the limit that refused it (the file may be fine; raising it retries). */
  readonly limit?: FailureLimit;
}

export interface EmbedJobResult {
  readonly hash: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  /** base64 WebP. */
  readonly thumbnail: string;
  /** base64 of `dim` little-endian float32 values (a unit vector). */
  readonly vector: string;
  readonly dim: number;
  readonly modelId: string;
  readonly widthLabel: string;
  /** Which worker made it (host/pid), for logs. */
  readonly worker: string;
}

/**
 * The job of some content at some model and width. Content queued twice (a copy, or a run
 * started again) maps to the same id, and BullMQ does not add an id it already holds.
 */
export function jobIdFor(hash: string, modelId: string, widthLabel: string): string {
  const variant = createHash('sha256').update(`${modelId}\n${widthLabel}`).digest('hex');
  return `${hash}-${variant.slice(0, 12)}`;
}

export function jobData(
  file: FoundFile,
  hash: string,
  modelId: string,
  width: string,
  decode: EmbedJobData['decode'],
): EmbedJobData {
  const { path, root, size, mtimeMs } = file;
  return { path, root, size, mtimeMs, hash, modelId, width, decode };
}

/** The file a job was queued for. */
export function jobFile(d: EmbedJobData): FoundFile {
  return { path: d.path, root: d.root, size: d.size, mtimeMs: d.mtimeMs };
}

export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeVector(b64: string, dim: number): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== dim * 4)
    throw new ShapeError(`vector has ${bytes.length} bytes, expected ${dim} float32 values`);
  const out = new Float32Array(dim);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * A worker's result as an image to write, after checking it is what was asked for: the same
 * content, model, width and dimension. Throws a ShapeError naming what differs.
 */
export function toEmbedded(
  r: EmbedJobResult,
  files: readonly FoundFile[],
  want: { hash: string; modelId: string; widthLabel: string; dim: number },
): EmbeddedImage {
  if (!r || typeof r !== 'object') throw new ShapeError('the job has no result');
  const diff = (['hash', 'modelId', 'widthLabel', 'dim'] as const).find((k) => r[k] !== want[k]);
  if (diff) throw new ShapeError(`result ${diff} is ${r[diff]}, expected ${want[diff]}`);
  return {
    hash: r.hash,
    size: r.size,
    width: r.width,
    height: r.height,
    format: r.format,
    thumbnail: Buffer.from(r.thumbnail, 'base64'),
    vector: decodeVector(r.vector, r.dim),
    files,
  };
}
