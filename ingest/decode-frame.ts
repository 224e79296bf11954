/**
 * The pixel work of one decode, run in this process (small, quick files) or in a decoder
 * process (decode-pool.ts): the file's one libvips decode, shrunk on load to an oriented 8-bit
 * sRGB image on white of `work` size (decode.ts workBox), and from that raw image the model
 * input and (optionally) the thumbnail, which decode nothing.
 */
import sharp from '../src/util/sharp.js';
import type { FailureLimit } from '../src/store/store.js';
import { normalizePixels, preprocessImage, shortSideCrop } from '../src/runtime/preprocess.js';
import type { PreprocessSpec } from '../src/model/preprocess-spec.js';
import { decodeBmp, isBmp } from './bmp.js';
import { DecodeError, firstLine } from './decode-error.js';

/**
 * The thumbnail's encoding: baseline JPEG at quality 80 (libjpeg-turbo, no mozjpeg). On 12 MP
 * photos' 256x192 thumbnails it is as small as WebP at libwebp's fastest method (10.6 vs 10.4 KB)
 * for half the CPU (1.5 vs 3.6 ms), and the thumbnail is ingest's largest cost beyond the decode.
 */
const THUMBNAIL_JPEG = { quality: 80, mozjpeg: false } as const;

export interface FrameOptions {
  readonly maxPixels: number;
  readonly timeoutMs: number;
  readonly thumbnailSize: number;
  readonly inputSize: number;
  readonly inputChannels: number;
  /** Size of the decoded image the thumbnail and the model input are made from. */
  readonly work: { readonly width: number; readonly height: number };
  /** The model's preprocessing (default: DEFAULT_PREPROCESS). */
  readonly preprocess?: PreprocessSpec;
  /** The file's own size after orientation, which a crop-resize crop is computed on. */
  readonly source?: { readonly width: number; readonly height: number };
  /**
   * The work image would be the file itself, unscaled and already 8-bit sRGB (decode.ts
   * `directInput`): without a thumbnail the model input is made in the decode's own pipeline,
   * one libvips call instead of two, with the very bytes the two would give.
   */
  readonly direct?: boolean;
}

export interface Frame {
  /** JPEG thumbnail, when asked for. */
  readonly thumbnail?: Uint8Array;
  /** Normalised model input [S, S, C]. */
  readonly input: Float32Array;
}

/** The thumbnail of a work image (8-bit sRGB, 3 channels): at most `size` a side, in JPEG. */
export function encodeThumbnail(
  data: Uint8Array,
  raw: { width: number; height: number; channels: 3 },
  size: number,
): Promise<Buffer> {
  return sharp(data, { raw })
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .jpeg(THUMBNAIL_JPEG)
    .toBuffer();
}

export async function decodeFrame(
  bytes: Uint8Array,
  o: FrameOptions,
  thumb: boolean,
): Promise<Frame> {
  // libvips' own timeout (whole seconds) stops a streamed decode where it is.
  const seconds = o.timeoutMs > 0 ? Math.max(1, Math.ceil(o.timeoutMs / 1000)) : 0;
  try {
    const open = {
      limitInputPixels: o.maxPixels,
      failOn: 'error',
      animated: false,
      density: 72,
    } as const;
    if (o.direct && !thumb) {
      const channels = o.inputChannels === 1 ? 1 : 3;
      const src = sharp(bytes, open).timeout({ seconds });
      const pixels = await shortSideCrop(src, { size: o.inputSize, channels }, o.source ?? o.work);
      return { input: normalizePixels(pixels, channels, o.preprocess) };
    }
    // BMP: decoded here to raw RGBA (bmp.ts), since libvips has no BMP loader.
    const bmp = isBmp(bytes) ? decodeBmp(bytes) : null;
    const { data, info } = await sharp(bmp ? bmp.data : bytes, {
      ...(bmp ? { raw: { width: bmp.width, height: bmp.height, channels: bmp.channels } } : {}),
      ...open,
    })
      .timeout({ seconds })
      .rotate()
      .toColourspace('srgb')
      .flatten({ background: '#ffffff' })
      .resize(o.work.width, o.work.height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = { width: info.width, height: info.height, channels: info.channels as 3 };
    const input = await preprocessImage(
      { data, ...raw },
      {
        size: o.inputSize,
        channels: o.inputChannels === 1 ? 1 : 3,
        ...(o.preprocess ? { preprocess: o.preprocess } : {}),
        ...(o.source ? { sourceSize: o.source } : {}),
      },
    );
    if (!thumb) return { input };
    return { thumbnail: await encodeThumbnail(data, raw, o.thumbnailSize), input };
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
