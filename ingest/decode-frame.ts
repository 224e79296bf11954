/**
 * The pixel work of one decode, run in this process (small, quick files) or in a decoder
 * process (decode-pool.ts): one libvips decode to an oriented 8-bit sRGB image on white of at
 * most WORK_SIDE px a side, and from it the model input and (optionally) the thumbnail.
 */
import sharp from 'sharp';
import type { FailureLimit } from '../src/store/store.js';
import { preprocessImage } from '../src/runtime/preprocess.js';
import { DecodeError, firstLine } from './decode-error.js';

/** Longest side of the one decoded image the thumbnail and the model input are made from. */
const WORK_SIDE = 2048;

export interface FrameOptions {
  readonly maxPixels: number;
  readonly timeoutMs: number;
  readonly thumbnailSize: number;
  readonly inputSize: number;
  readonly inputChannels: number;
}

export interface Frame {
  /** WebP thumbnail, when asked for. */
  readonly thumbnail?: Uint8Array;
  /** Normalised model input [S, S, C]. */
  readonly input: Float32Array;
}

export async function decodeFrame(
  bytes: Uint8Array,
  o: FrameOptions,
  thumb: boolean,
): Promise<Frame> {
  // libvips' own timeout (whole seconds) stops a streamed decode where it is.
  const seconds = o.timeoutMs > 0 ? Math.max(1, Math.ceil(o.timeoutMs / 1000)) : 0;
  try {
    const { data, info } = await sharp(bytes, {
      limitInputPixels: o.maxPixels,
      failOn: 'error',
      animated: false,
      density: 72,
    })
      .timeout({ seconds })
      .rotate()
      .toColourspace('srgb')
      .flatten({ background: '#ffffff' })
      .resize(WORK_SIDE, WORK_SIDE, { fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = { width: info.width, height: info.height, channels: info.channels as 3 };
    const input = await preprocessImage(
      { data, ...raw },
      { size: o.inputSize, channels: o.inputChannels === 1 ? 1 : 3 },
    );
    if (!thumb) return { input };
    const thumbnail = await sharp(data, { raw })
      .resize(o.thumbnailSize, o.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
    return { thumbnail, input };
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
