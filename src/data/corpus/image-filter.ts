/**
 * Cheap checks that keep tiny, blank and flat (UI-like) images out of the photo and texture
 * corpus, and the one decoder entry point for every format the packages ship (sharp's formats,
 * plus TGA and DXT1/DXT5 DDS, which sharp does not read).
 *
 * Flatness: a screenshot of a dialog or a logo is mostly a few exact colours, a photo almost
 * never is (transparent pixels are not counted). Sampled nearest-neighbour (no blending), quantised to 5 bits per channel, the most
 * common colour of a photo covers a few percent of it; of a dialog, a third or more.
 */
import type { Sharp } from 'sharp';
import sharp from '../../util/sharp.js';
import { decodeDds } from './decode-dds.js';
import { decodeTga } from './decode-tga.js';

export interface ImageStats {
  readonly width: number;
  readonly height: number;
  /** Largest per-channel standard deviation (0-255) over the opaque pixels. */
  readonly stdev: number;
  /** Share of sampled pixels in the single most common 5-bit colour. */
  readonly topColour: number;
  /** Number of distinct 5-bit colours among the samples. */
  readonly colours: number;
  /** Mean red, green, blue (0-255). */
  readonly mean: readonly [number, number, number];
}

export interface FilterOptions {
  /** Reject when the shorter side is below this (default 48). */
  readonly minSide?: number;
  /** Reject when every channel's standard deviation is below this (default 6). */
  readonly minStdev?: number;
  /** Reject when one colour covers more than this share (default 0.3). */
  readonly maxTopColour?: number;
  /** Reject when there are fewer distinct colours than this (default 16; a grey photo has <= 32). */
  readonly minColours?: number;
  /** Reject images coloured like a tangent-space normal map (default false: skies are too). */
  readonly normalMaps?: boolean;
}

/** Why an image is left out ('small', 'blank', 'flat', 'normal-map'), or null to keep it. */
export function rejectReason(s: ImageStats, o: FilterOptions = {}): string | null {
  if (Math.min(s.width, s.height) < (o.minSide ?? 48)) return 'small';
  if (s.stdev < (o.minStdev ?? 6)) return 'blank';
  if (s.topColour > (o.maxTopColour ?? 0.3) || s.colours < (o.minColours ?? 16)) return 'flat';
  // A tangent-space normal map averages near (128, 128, 255): pale violet-blue.
  const [r, g, b] = s.mean;
  if (
    o.normalMaps &&
    b > 170 &&
    b - r > 40 &&
    b - g > 30 &&
    Math.abs(r - 128) < 35 &&
    Math.abs(g - 128) < 35
  )
    return 'normal-map';
  return null;
}

const SAMPLE = 96;

/**
 * Opens any supported file as a sharp pipeline. `maxSide` lets DDS decode a smaller mip level;
 * `fileName` picks the decoder by extension (the bytes of TGA carry no magic number).
 */
export function openImage(data: Buffer, fileName: string, maxSide = Infinity): Sharp {
  const lower = fileName.toLowerCase();
  const raw = lower.endsWith('.dds')
    ? decodeDds(data, maxSide)
    : lower.endsWith('.tga')
      ? decodeTga(data)
      : null;
  if (raw)
    return sharp(Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength), {
      raw: { width: raw.width, height: raw.height, channels: 4 },
    });
  return sharp(data, { failOn: 'none' });
}

/** Measures `img` (any pipeline; it is cloned) for `rejectReason`. */
export async function imageStats(img: Sharp): Promise<ImageStats> {
  const meta = await img.clone().metadata();
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  const { data } = await img
    .clone()
    .toColourspace('srgb')
    .ensureAlpha()
    .resize(SAMPLE, SAMPLE, { fit: 'fill', kernel: 'nearest' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, ...pixelStats(data) };
}

/** Below this share of opaque pixels an image counts as blank. */
const MIN_OPAQUE = 0.05;

/**
 * Per-channel spread and 5-bit colour histogram of RGBA pixels, over the opaque ones only: a
 * sprite or cut-out is judged by what is drawn, not by its transparent surround.
 */
export function pixelStats(
  px: Uint8Array,
): Pick<ImageStats, 'stdev' | 'topColour' | 'colours' | 'mean'> {
  const total = Math.floor(px.length / 4);
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  const counts = new Map<number, number>();
  let n = 0;
  for (let i = 0; i < total; i++) {
    if ((px[i * 4 + 3] as number) < 128) continue;
    n++;
    let key = 0;
    for (let c = 0; c < 3; c++) {
      const v = px[i * 4 + c] as number;
      sum[c] = (sum[c] as number) + v;
      sq[c] = (sq[c] as number) + v * v;
      key = (key << 5) | (v >> 3);
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (n < total * MIN_OPAQUE || n === 0)
    return { stdev: 0, topColour: 1, colours: 0, mean: [0, 0, 0] };
  let stdev = 0;
  const mean = sum.map((v) => v / n) as [number, number, number];
  for (let c = 0; c < 3; c++) {
    const m = mean[c] as number;
    stdev = Math.max(stdev, Math.sqrt(Math.max(0, (sq[c] as number) / n - m * m)));
  }
  const top = Math.max(...counts.values());
  return { stdev, topColour: top / n, colours: counts.size, mean };
}
