/**
 * The non-learnt baselines every general-evaluation table shows beside the model, computed from
 * the same decoded pixels as the model's input:
 *   - thumb16 / thumb32: the image squashed to 16x16 / 32x32 RGB, minus its own mean value (so a
 *     uniform brightness shift cancels), compared by cosine;
 *   - dhash / phash: 64-bit hashes (hashes.ts) of the image squashed to 9x8 / 32x32 luma,
 *     compared by Hamming distance;
 *   - colour-hist: an 8x8x8 RGB histogram, compared by the Bhattacharyya coefficient (the cosine
 *     of the square-rooted, L1-normalised histograms).
 * Resizing goes through sharp (its default Lanczos-3) from a copy at most 256 px on a side.
 */
import sharp from '../util/sharp.js';
import type { RawImage } from '../runtime/preprocess.js';
import { dHash, HASH_WORDS, pHash } from './hashes.js';

export const BASELINES = ['thumb16', 'thumb32', 'dhash', 'phash', 'colour-hist'] as const;
export type BaselineName = (typeof BASELINES)[number];

/** How each baseline compares two images (for the report). */
export const BASELINE_TEXT: Record<BaselineName, string> = {
  thumb16: '16x16 RGB thumbnail minus its mean, cosine',
  thumb32: '32x32 RGB thumbnail minus its mean, cosine',
  dhash: '64-bit dHash (9x8 luma), Hamming',
  phash: '64-bit pHash (8x8 low DCT of 32x32 luma vs median), Hamming',
  'colour-hist': '8x8x8 RGB histogram, Bhattacharyya coefficient',
};

/** Vector size of a cosine baseline; hash baselines hold HASH_WORDS words. */
export const BASELINE_DIM: Record<BaselineName, number> = {
  thumb16: 16 * 16 * 3,
  thumb32: 32 * 32 * 3,
  dhash: HASH_WORDS,
  phash: HASH_WORDS,
  'colour-hist': 512,
};

export const isHashBaseline = (b: BaselineName) => b === 'dhash' || b === 'phash';

export interface BaselineFeatures {
  readonly thumb16: Float32Array;
  readonly thumb32: Float32Array;
  readonly dhash: Uint32Array;
  readonly phash: Uint32Array;
  readonly 'colour-hist': Float32Array;
}

/** Interleaved RGB bytes as float values minus their mean (one mean over all values). */
export function centred(rgb: Uint8Array): Float32Array {
  let s = 0;
  for (const v of rgb) s += v;
  const m = s / rgb.length;
  return Float32Array.from(rgb, (v) => v - m);
}

/** Rec. 601 luma of interleaved RGB bytes. */
export function luma(rgb: Uint8Array): Float32Array {
  const out = new Float32Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++)
    out[i] = 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
  return out;
}

/**
 * 8x8x8 histogram of interleaved RGB bytes (bin = top three bits of each channel, index
 * r * 64 + g * 8 + b), L1-normalised then square-rooted, so a dot product is the Bhattacharyya
 * coefficient.
 */
export function colourHistogram(rgb: Uint8Array): Float32Array {
  const h = new Float32Array(512);
  const n = rgb.length / 3;
  for (let i = 0; i < n; i++)
    h[((rgb[3 * i]! >> 5) << 6) | ((rgb[3 * i + 1]! >> 5) << 3) | (rgb[3 * i + 2]! >> 5)]!++;
  for (let k = 0; k < 512; k++) h[k] = Math.sqrt(h[k]! / n);
  return h;
}

async function squash(img: RawImage, w: number, h: number): Promise<Uint8Array> {
  const { data } = await sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: img.channels },
  })
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** All baseline features of an RGB image (3 channels, any size). */
export async function baselineFeatures(img: RawImage): Promise<BaselineFeatures> {
  let work = img;
  if (Math.max(img.width, img.height) > 256) {
    const { data, info } = await sharp(img.data, {
      raw: { width: img.width, height: img.height, channels: img.channels },
    })
      .resize(256, 256, { fit: 'inside' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    work = { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
  }
  const [t16, t32, t9x8] = await Promise.all([
    squash(work, 16, 16),
    squash(work, 32, 32),
    squash(work, 9, 8),
  ]);
  return {
    thumb16: centred(t16),
    thumb32: centred(t32),
    dhash: dHash(luma(t9x8)),
    phash: pHash(luma(t32)),
    'colour-hist': colourHistogram(work.data),
  };
}
