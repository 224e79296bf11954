/**
 * Image preprocessing shared by training and inference, written once: pixel layout is NHWC
 * float32, RGB, normalised per channel with the ImageNet statistics the official recipe uses.
 * Decoding, resizing and the centre crop go through sharp (loaded only when used).
 */
import type { Sharp } from 'sharp';
import { ValidationError } from '../errors.js';
import { DEFAULT_PREPROCESS, type PreprocessSpec } from '../model/preprocess-spec.js';
import { areaResize, officialCrop, type CropBox } from './area-resize.js';

/** Per-channel mean and std of ImageNet RGB in [0, 1] (the timm / official MatMamba defaults). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
const GREY_MEAN = [0.449] as const;
const GREY_STD = [0.226] as const;
// The grey statistics are the means of the RGB ones (0.449, 0.226), as computed in normalizePixels.

/**
 * 8-bit interleaved pixels [H, W, C] -> normalised float32 [H, W, C].
 * Grey (C = 1) input is normalised with the mean of the RGB statistics.
 */
export function normalizePixels(
  pixels: Uint8Array | Uint8ClampedArray,
  channels: number,
  spec: PreprocessSpec = DEFAULT_PREPROCESS,
): Float32Array {
  // A table of the 256 values per channel (p · scale + shift, rounded to float32 as before),
  // so each value is one lookup: ingest and every query run this on the main thread.
  const mean = channels === 3 ? spec.mean : [spec.mean.reduce((a, b) => a + b) / 3];
  const std = channels === 3 ? spec.std : [spec.std.reduce((a, b) => a + b) / 3];
  const lut = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const scale = 1 / (255 * std[c]!);
    const shift = -mean[c]! / std[c]!;
    for (let p = 0; p < 256; p++) lut[c * 256 + p] = p * scale + shift;
  }
  const out = new Float32Array(pixels.length);
  if (channels === 3)
    for (let i = 0; i < pixels.length; i += 3) {
      out[i] = lut[pixels[i]!]!;
      out[i + 1] = lut[256 + pixels[i + 1]!]!;
      out[i + 2] = lut[512 + pixels[i + 2]!]!;
    }
  else
    for (let i = 0; i < pixels.length; i += channels)
      for (let c = 0; c < channels; c++) out[i + c] = lut[c * 256 + pixels[i + c]!]!;
  return out;
}

/**
 * The same normalisation in place, for pixels already in [0, 1] (training's augmentation).
 * Grey (C = 1) uses the mean of the RGB statistics.
 */
export function normalizeUnitPixels(v: Float32Array, channels: number): void {
  const mean = channels === 3 ? IMAGENET_MEAN : GREY_MEAN;
  const std = channels === 3 ? IMAGENET_STD : GREY_STD;
  for (let i = 0; i < v.length; i++) {
    const c = i % channels;
    v[i] = (v[i]! - mean[c]!) / std[c]!;
  }
}

// ---- Decode, resize, crop (sharp) ----------------------------------------------------------

/** Raw 8-bit interleaved pixels, e.g. a data set's image. */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

/** A file path, an encoded image (PNG, JPEG, WebP, SVG ...), or raw pixels. */
export type ImageInput = string | Uint8Array | RawImage;

export interface ModelInputOptions {
  /** Output side S (the model's imageSize). */
  readonly size: number;
  /** Output channels: 3 (RGB) or 1 (grey), the model's inChans. */
  readonly channels: 1 | 3;
  /**
   * Centre crop as a fraction of the resized short side (timm's crop_pct): the short side is
   * resized to round(S / cropPct), then the centre S x S is kept. Default 1: the short side goes
   * to S and the centre square is kept, which for square images is the whole image (the
   * evaluation view training uses).
   */
  readonly cropPct?: number;
  /**
   * The model's preprocessing (its config.json `preprocess`). Default DEFAULT_PREPROCESS, the
   * short-side resize above. With `crop-resize` the centre crop is cut first and area-resized
   * (cropPct is then ignored: the spec's cropRatio rules).
   */
  readonly preprocess?: PreprocessSpec;
  /**
   * For raw pixels that are a shrunk copy of a larger image (ingest's decode-once work image):
   * the original's oriented size, so a crop-resize crop is the official one of the original,
   * mapped onto the copy.
   */
  readonly sourceSize?: { readonly width: number; readonly height: number };
}

/**
 * Decode -> EXIF orientation -> alpha flattened onto white -> short side resized (bicubic
 * family, sharp's default) -> centre crop -> RGB or grey bytes [S, S, C].
 */
export async function loadPixels(input: ImageInput, opts: ModelInputOptions): Promise<Uint8Array> {
  const S = opts.size;
  const cropPct = opts.cropPct ?? 1;
  if (!Number.isInteger(S) || S <= 0) throw new ValidationError(`size must be > 0, got ${S}`);
  if (opts.preprocess?.mode === 'crop-resize') return cropResizePixels(input, opts);
  if (!(cropPct > 0 && cropPct <= 1)) {
    throw new ValidationError(`cropPct must be in (0, 1], got ${cropPct}`);
  }
  const { default: sharp } = await import('../util/sharp.js');
  const src =
    typeof input === 'string' || input instanceof Uint8Array
      ? sharp(input)
      : sharp(input.data, {
          raw: { width: input.width, height: input.height, channels: input.channels },
        });
  try {
    return await shortSideCrop(
      src,
      opts,
      typeof input === 'object' && 'data' in input ? input : undefined,
    );
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const what = typeof input === 'string' ? input : 'image data';
    throw new ValidationError(`cannot decode ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The default preprocessing of an image sharp has opened: EXIF orientation -> alpha flattened
 * onto white -> short side resized to S / cropPct -> centre S x S crop, as bytes [S, S, C].
 * `size`: the image's oriented size when known, else its header is read. Sharp's errors pass
 * through for the caller to word.
 */
export async function shortSideCrop(
  src: Sharp,
  opts: ModelInputOptions,
  size?: { readonly width: number; readonly height: number },
): Promise<Uint8Array> {
  const S = opts.size;
  const R = Math.max(S, Math.round(S / (opts.cropPct ?? 1)));
  const oriented = src.rotate();
  // A strip (1 x 2,000,000 px, a few KB of PNG) would be resized to millions of rows before
  // the crop, for minutes and gigabytes: keep only its centre (what the crop keeps anyway).
  const centre = await stripCentre(oriented, size);
  if (centre) oriented.extract(centre);
  const img = await oriented
    .flatten({ background: '#ffffff' })
    .resize({ width: R, height: R, fit: 'outside' })
    .toColourspace(opts.channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = img.info;
  if (channels !== opts.channels) {
    throw new ValidationError(`decoder gave ${channels} channels, expected ${opts.channels}`);
  }
  // Centre crop S x S of the resized image (short side R >= S).
  const x0 = Math.floor((width - S) / 2);
  const y0 = Math.floor((height - S) / 2);
  const out = new Uint8Array(S * S * channels);
  for (let y = 0; y < S; y++) {
    const from = ((y0 + y) * width + x0) * channels;
    out.set(img.data.subarray(from, from + S * channels), y * S * channels);
  }
  return out;
}

/** Beyond this long-to-short side ratio an image is cut to its centre before resizing. */
const MAX_ASPECT = 8;

/** The centre region (long side MAX_ASPECT x the short one) of an oriented strip, else null. */
async function stripCentre(
  img: Sharp,
  size?: { readonly width: number; readonly height: number },
): Promise<{ left: number; top: number; width: number; height: number } | null> {
  // Raw pixels (or a caller that read the header) know their oriented size.
  const m = size ? null : await img.metadata(); // the header only
  const w = size?.width ?? m?.autoOrient?.width ?? m?.width ?? 0;
  const h = size?.height ?? m?.autoOrient?.height ?? m?.height ?? 0;
  const short = Math.min(w, h);
  if (!short || Math.max(w, h) <= MAX_ASPECT * short) return null;
  const keep = MAX_ASPECT * short;
  return w > h
    ? { left: Math.floor((w - keep) / 2), top: 0, width: keep, height: h }
    : { left: 0, top: Math.floor((h - keep) / 2), width: w, height: keep };
}

/** One image -> normalised float32 [S, S, C], ready for the encoder. */
export async function preprocessImage(
  input: ImageInput,
  opts: ModelInputOptions,
): Promise<Float32Array> {
  return normalizePixels(await loadPixels(input, opts), opts.channels, opts.preprocess);
}

/** Several images -> one normalised batch [B, S, S, C]. */
export async function preprocessBatch(
  inputs: readonly ImageInput[],
  opts: ModelInputOptions,
): Promise<Float32Array> {
  const per = opts.size * opts.size * opts.channels;
  const out = new Float32Array(inputs.length * per);
  const images = await Promise.all(inputs.map((x) => preprocessImage(x, opts)));
  images.forEach((img, i) => out.set(img, i * per));
  return out;
}

/** Alpha flattened on white, then grey or sRGB raw pixels. */
function toChannels(img: Sharp, channels: number) {
  return img
    .flatten({ background: '#ffffff' })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
}

/**
 * crop-resize (the official evaluation): decode -> EXIF orientation -> alpha on white -> the
 * centre square (officialCrop) -> area-averaged to S x S. A file is decoded with only the
 * crop extracted, so a long strip never becomes a large image.
 */
async function cropResizePixels(input: ImageInput, opts: ModelInputOptions): Promise<Uint8Array> {
  const spec = opts.preprocess!;
  const S = opts.size;
  const { default: sharp } = await import('../util/sharp.js');
  const raw = typeof input === 'object' && 'data' in input ? input : null;
  let pixels: Uint8Array;
  let box: CropBox;
  let width: number;
  try {
    if (raw) {
      // Raw pixels are already oriented; only bring them to the wanted channels.
      const img = await toChannels(
        sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } }),
        opts.channels,
      );
      pixels = img.data;
      width = img.info.width;
      const src = opts.sourceSize ?? { width: raw.width, height: raw.height };
      box = officialCrop(src.width, src.height, spec.cropRatio);
      if (opts.sourceSize) {
        // The crop of the original, in the shrunk copy's (fractional) coordinates.
        const k = raw.width / src.width;
        box = { x: box.x * k, y: box.y * k, side: box.side * k };
      }
    } else {
      const file = input as string | Uint8Array;
      const decoder = sharp(file);
      const m = await decoder.metadata();
      const w = m.autoOrient?.width ?? m.width ?? 0;
      const h = m.autoOrient?.height ?? m.height ?? 0;
      const crop = officialCrop(w, h, spec.cropRatio);
      const img = await toChannels(
        decoder
          .rotate()
          .extract({ left: crop.x, top: crop.y, width: crop.side, height: crop.side }),
        opts.channels,
      );
      pixels = img.data;
      width = img.info.width;
      box = { x: 0, y: 0, side: crop.side };
    }
  } catch (err) {
    const what = typeof input === 'string' ? input : 'image data';
    throw new ValidationError(`cannot decode ${what}: ${(err as Error).message}`, { cause: err });
  }
  const height = pixels.length / (width * opts.channels);
  if (!Number.isInteger(height))
    throw new ValidationError(`decoder gave an image of other than ${opts.channels} channels`);
  return areaResize({ data: pixels, width, height, channels: opts.channels }, box, S);
}
