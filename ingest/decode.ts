/**
 * Decoding one image file for the library: content hash, metadata, a 256 px JPEG thumbnail and
 * the model's input pixels. Anything sharp (libvips) reads is accepted: JPEG, PNG, WebP, AVIF,
 * GIF (first frame), TIFF, SVG; and BMP, which libvips lacks, through bmp.ts. EXIF orientation is applied; CMYK, 16-bit, grey and alpha are
 * brought to 8-bit sRGB on white; a decompression bomb is refused before decoding, by a pixel cap
 * and by what its decoded frame would take in bytes (pixels x channels x bytes per sample: a
 * small 16-bit RGBA interlaced PNG can need gigabytes). Each file is decoded once, shrunk on load
 * to the least size its consumers need (workBox: the thumbnail's long side, the model input's
 * short side), and the thumbnail and the model input are both made from that image; the content
 * hash is of the file's bytes. A JPEG is then decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself
 * (a 12 MP photo: a 500x375 decode). Decodes in flight share one process-wide memory budget,
 * charged what that scaled decode holds. A file that may be slow to decode (see mayBeSlow)
 * is decoded in a decoder process that is killed at the timeout (decode-pool.ts), so an
 * abandoned decode stops rather than running on in the background; others decode here, where
 * libvips' own timeout stops them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Metadata } from 'sharp';
import sharp from '../src/util/sharp.js';
import { ValidationError } from '../src/errors.js';
import type { FailureLimit } from '../src/store/store.js';
import type { PreprocessSpec } from '../src/model/preprocess-spec.js';
import { bmpHeader, isBmp, type BmpHeader } from './bmp.js';
import { DecodeError, firstLine } from './decode-error.js';
import { decodeFrame } from './decode-frame.js';
import { decodePool } from './decode-pool.js';

export { DecodeError } from './decode-error.js';

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
  /**
   * Refuse images whose decoded frame would take more bytes than this (default 512 MiB):
   * width x height x channels x bytes per sample, read from the header.
   */
  readonly maxDecodeBytes: number;
  /** Model input side and channels. */
  readonly inputSize: number;
  readonly inputChannels: number;
  /** The model's preprocessing (default DEFAULT_PREPROCESS): its crop sets the work size. */
  readonly preprocess?: PreprocessSpec;
}

export const DECODE_DEFAULTS: Omit<DecodeOptions, 'inputSize' | 'inputChannels' | 'preprocess'> = {
  maxPixels: 100_000_000,
  maxBytes: 256 * 1024 * 1024,
  thumbnailSize: 256,
  timeoutMs: 30_000,
  maxDecodeBytes: 512 * 1024 * 1024,
};

/** Formats libvips decodes a strip at a time (when not interlaced), so its timeout stops them. */
const STREAMED = new Set(['jpeg', 'png', 'webp', 'gif']);

/** Pixels a streamed raster may decode to and still be decoded in this process (quick either way). */
const QUICK_PIXELS = 4_000_000;

/** Longest side of the decoded image whatever the consumers ask (a 1 x 10^6 px strip). */
const WORK_SIDE = 2048;

const SAMPLE_BYTES: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

/** Bytes of an image's decoded frame, from its header. */
export function decodedBytes(meta: Metadata): number {
  const sample = SAMPLE_BYTES[meta.depth ?? 'uchar'] ?? 1;
  return (meta.width ?? 0) * (meta.height ?? 0) * (meta.channels ?? 3) * sample;
}

/**
 * Bytes of decoded frames the process may hold at once: a decode waits its turn beyond it (one
 * larger than the whole budget runs alone). Held until libvips has really finished.
 */
export class DecodeMemory {
  private used = 0;
  private readonly waiting: { bytes: number; go: () => void }[] = [];

  constructor(readonly budget: number) {}

  async acquire(bytes: number): Promise<() => void> {
    const n = Math.min(bytes, this.budget);
    if (this.waiting.length > 0 || this.used + n > this.budget)
      await new Promise<void>((go) => this.waiting.push({ bytes: n, go }));
    else this.used += n;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= n;
      while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.budget) {
        const next = this.waiting.shift()!;
        this.used += next.bytes;
        next.go();
      }
    };
  }

  get inUse(): number {
    return this.used;
  }
}

/** The process-wide decode budget (1 GiB). */
export const decodeMemory = new DecodeMemory(1024 * 1024 * 1024);

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
 * A BMP's header as sharp would describe it: decoded to 8-bit RGBA (bmp.ts), so its cost is
 * known before decoding, and as a format libvips does not stream, it decodes in a decoder
 * process that the timeout kills (mayBeSlow).
 */
function bmpMetadata(h: BmpHeader): Metadata {
  const { width, height } = h;
  return {
    format: 'bmp' as Metadata['format'], // not a format sharp names
    width,
    height,
    autoOrient: { width, height },
    channels: 4,
    depth: 'uchar',
    space: 'srgb',
    isProgressive: false,
    isPalette: h.bitCount <= 8,
    hasProfile: false,
    hasAlpha: h.masks[3] !== 0,
  };
}

/**
 * Headers read, by the bytes they were read from: an upload's check (web/uploads.ts) and its
 * decode then read the header once, not twice (each read is a libvips call on the thread pool,
 * 0.1-0.3 ms of a small query). Weak: the entry goes with the bytes.
 */
const headers = new WeakMap<Uint8Array, Promise<Metadata>>();

/** The image's header (dimensions, format, orientation); nothing is decoded. */
export function imageHeader(bytes: Buffer): Promise<Metadata> {
  let h = headers.get(bytes);
  if (!h) {
    h = isBmp(bytes)
      ? Promise.resolve().then(() => bmpMetadata(bmpHeader(bytes)))
      : sharp(bytes, { limitInputPixels: false, animated: false }).metadata();
    headers.set(bytes, h);
  }
  return h;
}

/**
 * Reads the header only (no pixels are decoded, so no cap is needed to read it) and refuses an
 * image over the pixel cap with a message that says by how much.
 */
async function checkedHeader(
  bytes: Buffer,
  maxPixels: number,
  maxDecodeBytes = DECODE_DEFAULTS.maxDecodeBytes,
): Promise<Metadata> {
  let meta: Metadata;
  try {
    meta = await imageHeader(bytes);
  } catch (err) {
    if (err instanceof DecodeError) throw err;
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
  const need = decodedBytes(meta);
  if (need > maxDecodeBytes) {
    const bits = 8 * (SAMPLE_BYTES[meta.depth ?? 'uchar'] ?? 1);
    throw new DecodeError(
      `image needs about ${(need / 1e6).toFixed(1)} MB to decode (${w0}x${h0}, ${meta.channels} channels of ${bits} bits), over the ${(maxDecodeBytes / 1e6).toFixed(1)} MB decode limit`,
    );
  }
  return meta;
}

/**
 * Only the model input of an image (a query, or a refine): the same checks, budget, timeout and
 * preprocessing as an ingest, without hashing or a thumbnail.
 */
export async function decodeInput(
  bytes: Buffer,
  o: Pick<DecodeOptions, 'maxPixels' | 'inputSize' | 'inputChannels'> &
    Partial<Pick<DecodeOptions, 'timeoutMs' | 'maxDecodeBytes' | 'preprocess'>>,
): Promise<Float32Array> {
  const full = { ...DECODE_DEFAULTS, ...o };
  return (await decodeOnce(bytes, full, false)).input;
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
  const full = { ...DECODE_DEFAULTS, ...o };
  const { meta, thumbnail, input } = await decodeOnce(bytes, full, true);
  const swap = (meta.orientation ?? 1) >= 5; // EXIF orientations 5-8 swap width and height
  const [width, height] = swap ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
  return {
    hash,
    size: bytes.length,
    width,
    height,
    format: meta.format ?? 'unknown',
    thumbnail: thumbnail!,
    input,
  };
}

/** Width and height of an image. */
export interface Box {
  readonly width: number;
  readonly height: number;
}

/**
 * The size (after EXIF orientation) a file is decoded to: the least that still gives the
 * thumbnail its long side and the model input its short side (it is resized short side first,
 * then centre-cropped; with a crop ratio r below 1 the crop keeps r of the short side, so the
 * short side must be inputSize / r), never more than the image or WORK_SIDE. Queries use the same box as
 * ingest, so a library image searched for gives the very vector it was stored with.
 */
export function workBox(
  meta: Metadata,
  o: Pick<DecodeOptions, 'thumbnailSize' | 'inputSize' | 'preprocess'>,
): Box {
  const swap = (meta.orientation ?? 1) >= 5;
  const [w, h] = swap ? [meta.height ?? 1, meta.width ?? 1] : [meta.width ?? 1, meta.height ?? 1];
  const long = Math.max(w, h);
  const short = Math.min(w, h);
  const scale = Math.min(
    1,
    WORK_SIDE / long,
    Math.max(o.thumbnailSize / long, o.inputSize / (o.preprocess?.cropRatio ?? 1) / short),
  );
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/**
 * The factor libjpeg scales a JPEG down by while decoding it to `box` (8, 4, 2 or 1: sharp's
 * shrink-on-load takes the largest that keeps the decode at least the box); 1 for other formats.
 */
export function loadShrink(meta: Metadata, box: Box): number {
  if (meta.format !== 'jpeg') return 1;
  // The box is oriented; the file's own width and height are not.
  const swap = (meta.orientation ?? 1) >= 5;
  const [bw, bh] = swap ? [box.height, box.width] : [box.width, box.height];
  const room = Math.min((meta.width ?? 1) / bw, (meta.height ?? 1) / bh);
  for (const f of [8, 4, 2]) if (room >= f) return f;
  return 1;
}

/**
 * Whether a decode could run long enough to need a process that can be killed: anything but a
 * streamed raster that decodes to few pixels (libvips' own timeout stops those where they are).
 * `shrink`: the scale its decoder reads it at (loadShrink).
 */
export function mayBeSlow(meta: Metadata, shrink = 1): boolean {
  const pixels = ((meta.width ?? 0) * (meta.height ?? 0)) / (shrink * shrink);
  return !STREAMED.has(meta.format ?? '') || meta.isProgressive === true || pixels > QUICK_PIXELS;
}

/**
 * Whether a query's model input may come straight from the decode (decode-frame.ts `direct`):
 * the work image would be the file unscaled, and a format and colour space for which the two
 * steps ingest takes (decode to 8-bit sRGB on white, then resize) give the same bytes as one
 * (test/ingest/direct-input.test.ts compares them). Else the query takes ingest's two steps,
 * so a library image searched for gives the very vector it was stored with.
 */
export function directInput(
  meta: Metadata,
  work: Box,
  source: Box,
  o: Pick<DecodeOptions, 'inputSize' | 'inputChannels' | 'preprocess'>,
): boolean {
  // A JPEG shrinks on load once a resize halves it: one pipeline would decode it smaller than
  // the two steps do. (A WebP scales on load at any reduction: it never takes this path.)
  const scaledOnLoad =
    meta.format === 'jpeg' && Math.max(work.width, work.height) >= 2 * o.inputSize;
  return (
    work.width === source.width &&
    work.height === source.height &&
    DIRECT_FORMATS.has(meta.format ?? '') &&
    !scaledOnLoad &&
    meta.depth === 'uchar' &&
    // Turned by EXIF, one pipeline resizes before it turns: its rounding differs.
    (meta.orientation ?? 1) === 1 &&
    (meta.space === 'srgb' || meta.space === 'b-w') &&
    !meta.hasProfile &&
    o.inputChannels === 3 &&
    o.preprocess?.mode !== 'crop-resize'
  );
}

/** Formats whose 8-bit decodes may take the one-step query path (directInput). */
const DIRECT_FORMATS = new Set(['png', 'jpeg', 'gif']);

/**
 * The header checks, then one decode (within the memory budget and the timeout): in a decoder
 * process that is killed at the timeout when the file may be slow, else here.
 */
async function decodeOnce(
  bytes: Buffer,
  o: DecodeOptions,
  thumb: boolean,
): Promise<{ meta: Metadata; thumbnail?: Buffer; input: Float32Array }> {
  const meta = await checkedHeader(bytes, o.maxPixels, o.maxDecodeBytes);
  const work = workBox(meta, o);
  const shrink = loadShrink(meta, work);
  // The scaled decode, plus the work image (8-bit, 3 channels) made from it.
  const release = await decodeMemory.acquire(
    Math.ceil(decodedBytes(meta) / (shrink * shrink)) + work.width * work.height * 3,
  );
  try {
    // A timeout under libvips' whole second is only kept by a decoder process.
    const killable = o.timeoutMs > 0 && (o.timeoutMs < 1000 || mayBeSlow(meta, shrink));
    const swap = (meta.orientation ?? 1) >= 5;
    const source = swap
      ? { width: meta.height!, height: meta.width! }
      : { width: meta.width!, height: meta.height! };
    const direct = !thumb && directInput(meta, work, source, o);
    const fo = { ...o, work, source, direct };
    const frame = killable
      ? await decodePool.decode(bytes, fo, thumb)
      : await decodeFrame(bytes, fo, thumb);
    const thumbnail = frame.thumbnail ? Buffer.from(frame.thumbnail) : undefined;
    return { meta, input: frame.input, ...(thumbnail ? { thumbnail } : {}) };
  } finally {
    release(); // a killed decode's memory is gone with its process
  }
}
