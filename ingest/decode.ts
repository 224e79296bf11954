/**
 * Decoding one image file for the library: content hash, metadata, a 256 px WebP thumbnail and
 * the model's input pixels. Anything sharp (libvips) reads is accepted: JPEG, PNG, WebP, AVIF,
 * GIF (first frame), TIFF, SVG. EXIF orientation is applied; CMYK, 16-bit, grey and alpha are
 * brought to 8-bit sRGB on white; a decompression bomb is refused by a pixel cap before decoding.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { MatsearchError, ValidationError } from '../src/errors.js';
import type { FailureLimit } from '../src/store/store.js';
import { preprocessImage } from '../src/runtime/preprocess.js';

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default 100 MP). */
  readonly maxPixels: number;
  /** Refuse files larger than this many bytes (default 256 MiB). */
  readonly maxBytes: number;
  /** Thumbnail bounding box side (default 256). */
  readonly thumbnailSize: number;
  /**
   * Give up on one file after this many ms of decoding (default 30 s): the file is recorded as
   * failed with a message that says so, and the run goes on. 0 waits for ever.
   */
  readonly timeoutMs: number;
  /** Model input side and channels. */
  readonly inputSize: number;
  readonly inputChannels: number;
}

export const DECODE_DEFAULTS: Omit<DecodeOptions, 'inputSize' | 'inputChannels'> = {
  maxPixels: 100_000_000,
  maxBytes: 256 * 1024 * 1024,
  thumbnailSize: 256,
  timeoutMs: 30_000,
};

export interface DecodedImage {
  readonly hash: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly thumbnail: Buffer;
  /** Normalised model input [S, S, C]. */
  readonly input: Float32Array;
}

/**
 * A file that is not a usable image; the message is stored with the file and shown to users.
 * `limit` is set when a limit refused it (the file may be fine): raising the limit retries it.
 */
export class DecodeError extends MatsearchError {
  readonly limit: FailureLimit | null;
  constructor(message: string, options?: { cause?: unknown; limit?: FailureLimit }) {
    super('E_DECODE', message, options);
    this.limit = options?.limit ?? null;
  }
}

/** The longest decode timeout a timer can hold (setTimeout's 32-bit delay; ~24.8 days). */
export const MAX_DECODE_TIMEOUT_MS = 2 ** 31 - 1;

/** Refuses limits no decode could honour (a timeout past what a timer holds fires at once). */
export function checkDecodeOptions(o: Pick<DecodeOptions, 'timeoutMs' | 'maxPixels' | 'maxBytes'>) {
  const t = o.timeoutMs;
  if (!Number.isFinite(t) || t < 0 || t > MAX_DECODE_TIMEOUT_MS)
    throw new ValidationError(
      `decode timeout must be 0 (none) to ${MAX_DECODE_TIMEOUT_MS} ms (about 24 days), got ${t} ms`,
    );
  for (const [name, v] of [
    ['pixel cap', o.maxPixels],
    ['byte cap', o.maxBytes],
  ] as const)
    if (!(v > 0)) throw new ValidationError(`decode ${name} must be a positive number, got ${v}`);
}

/**
 * Whether a file refused by `limit` deserves another try under `now`: the limit was raised (a
 * timeout of 0 means none, the most generous).
 */
export function limitRaised(
  limit: FailureLimit | null,
  now: Pick<DecodeOptions, 'timeoutMs' | 'maxPixels' | 'maxBytes'>,
): boolean {
  if (!limit) return false;
  switch (limit.kind) {
    case 'pixels':
      return now.maxPixels > limit.value;
    case 'bytes':
      return now.maxBytes > limit.value;
    case 'timeout':
      return limit.value > 0 && (now.timeoutMs === 0 || now.timeoutMs > limit.value);
  }
}

/** sha256 of bytes, hex. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readBytes(path: string, maxBytes: number): Promise<Buffer> {
  const bytes = await readFile(path);
  if (bytes.length === 0) throw new DecodeError('empty file (0 bytes)');
  if (bytes.length > maxBytes)
    throw new DecodeError(`file is ${bytes.length} bytes, over the ${maxBytes}-byte limit`, {
      limit: { kind: 'bytes', value: maxBytes },
    });
  return bytes;
}

/**
 * Reads the header only (no pixels are decoded, so no cap is needed to read it) and refuses an
 * image over the pixel cap with a message that says by how much.
 */
async function checkedHeader(bytes: Buffer, maxPixels: number): Promise<Metadata> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, animated: false }).metadata();
  } catch (err) {
    throw new DecodeError(`not a readable image: ${firstLine(err)}`, { cause: err });
  }
  const w0 = meta.width ?? 0;
  const h0 = meta.height ?? 0;
  if (!w0 || !h0) throw new DecodeError('image has no dimensions');
  if (w0 * h0 > maxPixels) {
    throw new DecodeError(
      `image is ${w0}x${h0} = ${((w0 * h0) / 1e6).toFixed(1)} MP, over the ${(maxPixels / 1e6).toFixed(0)} MP limit`,
      { limit: { kind: 'pixels', value: maxPixels } },
    );
  }
  return meta;
}

/**
 * `work`, or a DecodeError once `timeoutMs` have passed (0: no limit). libvips cannot be stopped
 * from here, so a decode that overruns finishes in the background and its result is dropped.
 */
async function withinTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  if (!(timeoutMs > 0)) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DecodeError(
            `decoding took over ${timeoutMs} ms and was abandoned (the decode timeout; raise it to allow slow images)`,
            { limit: { kind: 'timeout', value: timeoutMs } },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Only the model input of an image (a query, or a refine): the same checks and preprocessing
 * as an ingest, without hashing or a thumbnail.
 */
export async function decodeInput(
  bytes: Buffer,
  o: Pick<DecodeOptions, 'maxPixels' | 'inputSize' | 'inputChannels'> & { timeoutMs?: number },
): Promise<Float32Array> {
  const work = async () => {
    await checkedHeader(bytes, o.maxPixels);
    try {
      return await preprocessImage(bytes, {
        size: o.inputSize,
        channels: o.inputChannels === 1 ? 1 : 3,
      });
    } catch (err) {
      throw new DecodeError(`could not decode: ${firstLine(err)}`, { cause: err });
    }
  };
  return withinTimeout(work(), o.timeoutMs ?? DECODE_DEFAULTS.timeoutMs);
}

/**
 * Decodes image bytes (already hashed by the caller when it wants to skip duplicates early),
 * within `o.timeoutMs`.
 */
export async function decodeBytes(
  bytes: Buffer,
  o: DecodeOptions,
  hash = contentHash(bytes),
): Promise<DecodedImage> {
  return withinTimeout(decodeAll(bytes, o, hash), o.timeoutMs ?? DECODE_DEFAULTS.timeoutMs);
}

async function decodeAll(bytes: Buffer, o: DecodeOptions, hash: string): Promise<DecodedImage> {
  // libvips' own timeout (whole seconds) frees its thread when the thumbnail overruns.
  const seconds = o.timeoutMs > 0 ? Math.max(1, Math.ceil(o.timeoutMs / 1000)) : 0;
  const base = () =>
    sharp(bytes, {
      limitInputPixels: o.maxPixels,
      failOn: 'error',
      animated: false,
      density: 72,
    }).timeout({ seconds });
  const meta = await checkedHeader(bytes, o.maxPixels);
  const w0 = meta.width!;
  const h0 = meta.height!;
  const swap = (meta.orientation ?? 1) >= 5; // EXIF orientations 5-8 swap width and height
  const [width, height] = swap ? [h0, w0] : [w0, h0];
  try {
    // The thumbnail: oriented, 8-bit sRGB on white. The model input goes through the shared
    // preprocessing (src/runtime/preprocess.ts), the same code every encoder caller uses.
    const [thumbnail, input] = await Promise.all([
      base()
        .rotate()
        .toColourspace('srgb')
        .flatten({ background: '#ffffff' })
        .resize(o.thumbnailSize, o.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toBuffer(),
      preprocessImage(bytes, { size: o.inputSize, channels: o.inputChannels === 1 ? 1 : 3 }),
    ]);
    return {
      hash,
      size: bytes.length,
      width,
      height,
      format: meta.format ?? 'unknown',
      thumbnail,
      input,
    };
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    // libvips' own timeout, or its pixel cap on a file whose header understated its size.
    const msg = firstLine(err);
    const limit: FailureLimit | undefined = /^timeout\b/i.test(msg)
      ? { kind: 'timeout', value: o.timeoutMs }
      : /pixel limit/i.test(msg)
        ? { kind: 'pixels', value: o.maxPixels }
        : undefined;
    throw new DecodeError(`could not decode: ${msg}`, { cause: err, ...(limit ? { limit } : {}) });
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}
