/**
 * Training augmentation on 8-bit images, in plain JS (the images are tiny, so this costs far less
 * than the model): random resized crop with bilinear sampling, optional horizontal flip, colour
 * jitter, then the shared normalisation. `centerView` is the deterministic evaluation view.
 */
import { normalizeUnitPixels } from '../runtime/preprocess.js';
import type { Rng } from '../util/rng.js';
import {
  addBorder,
  downscale,
  drawText,
  gaussianBlur,
  greyscale,
  jpegArtifacts,
  pasteImage,
  type OverlaySource,
} from './distort.js';

export interface AugmentOptions {
  /** Output side S. */
  readonly size: number;
  /** Output channels (1 or 3); grey input is replicated, RGB input averaged to grey. */
  readonly channels: number;
  /** Crop area as a fraction of the image, sampled uniformly. */
  readonly scale: readonly [number, number];
  /** Crop aspect ratio range, sampled log-uniformly. */
  readonly ratio: readonly [number, number];
  /** Flip left-right with probability 1/2 (off for emoji: arrows have a direction). */
  readonly flip: boolean;
  /** Brightness / contrast / saturation jitter strength (0 = off), applied with probability 0.8. */
  readonly jitter: number;
  /** Rotate by a random multiple of 90 degrees (copy detection: photos get rotated). */
  readonly rot90?: boolean;
  /** Probabilities of the copy-detection distortions (distort.ts); absent = none. */
  readonly distort?: DistortOptions;
}

/** Each distortion's probability per view (3-channel views only). */
export interface DistortOptions {
  readonly overlay: number;
  readonly text: number;
  readonly border: number;
  readonly grey: number;
  readonly blur: number;
  readonly downscale: number;
  readonly jpeg: number;
}

interface Box {
  x0: number;
  y0: number;
  w: number;
  h: number;
}

/** Samples a crop box (in source pixels) like torchvision's RandomResizedCrop. */
function sampleBox(src: number, o: AugmentOptions, rng: Rng): Box {
  const area = src * src;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (o.scale[0] + (o.scale[1] - o.scale[0]) * rng.uniform());
    const logR =
      Math.log(o.ratio[0]) + (Math.log(o.ratio[1]) - Math.log(o.ratio[0])) * rng.uniform();
    const r = Math.exp(logR);
    const w = Math.sqrt(target * r);
    const h = Math.sqrt(target / r);
    if (w <= src && h <= src)
      return { x0: rng.uniform() * (src - w), y0: rng.uniform() * (src - h), w, h };
  }
  return { x0: 0, y0: 0, w: src, h: src };
}

/**
 * Resamples `box` of a [src, src, cin] image to [S, S, cout] floats in [0, 1] (bilinear,
 * pixel-centre aligned), flipping if asked.
 */
function resample(
  img: Uint8Array,
  src: number,
  cin: number,
  box: Box,
  S: number,
  cout: number,
  flip: boolean,
  out: Float32Array,
  quarterTurns = 0,
) {
  const sx = box.w / S;
  const sy = box.h / S;
  for (let yo = 0; yo < S; yo++) {
    for (let xo = 0; xo < S; xo++) {
      // The output pixel (xo, yo) of a view turned clockwise by quarterTurns comes from (x, y).
      const [x, y] =
        quarterTurns === 1
          ? [yo, S - 1 - xo]
          : quarterTurns === 2
            ? [S - 1 - xo, S - 1 - yo]
            : quarterTurns === 3
              ? [S - 1 - yo, xo]
              : [xo, yo];
      const fy = Math.min(Math.max(box.y0 + (y + 0.5) * sy - 0.5, 0), src - 1);
      const y0 = Math.floor(fy);
      const y1 = Math.min(y0 + 1, src - 1);
      const wy = fy - y0;
      const xs = flip ? S - 1 - x : x;
      const fx = Math.min(Math.max(box.x0 + (xs + 0.5) * sx - 0.5, 0), src - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, src - 1);
      const wx = fx - x0;
      const px = (yy: number, xx: number, c: number) => img[(yy * src + xx) * cin + c]!;
      const sample = (c: number) =>
        ((1 - wy) * ((1 - wx) * px(y0, x0, c) + wx * px(y0, x1, c)) +
          wy * ((1 - wx) * px(y1, x0, c) + wx * px(y1, x1, c))) /
        255;
      const o = (yo * S + xo) * cout;
      if (cout === cin) for (let c = 0; c < cin; c++) out[o + c] = sample(c);
      else if (cout === 3) out[o] = out[o + 1] = out[o + 2] = sample(0);
      else out[o] = (sample(0) + sample(1) + sample(2)) / 3;
    }
  }
}

function jitterInPlace(v: Float32Array, channels: number, strength: number, rng: Rng) {
  const b = 1 + (rng.uniform() * 2 - 1) * strength;
  const c = 1 + (rng.uniform() * 2 - 1) * strength;
  const s = 1 + (rng.uniform() * 2 - 1) * strength;
  let mean = 0;
  for (const x of v) mean += x;
  mean /= v.length;
  for (let i = 0; i < v.length; i += channels) {
    let grey = 0;
    for (let k = 0; k < channels; k++) grey += v[i + k]!;
    grey /= channels;
    for (let k = 0; k < channels; k++) {
      let x = v[i + k]! * b; // brightness
      x = (x - mean * b) * c + mean * b; // contrast around the mean
      x = grey * b + (x - grey * b) * s; // saturation around the pixel's grey
      v[i + k] = Math.min(1, Math.max(0, x));
    }
  }
}

/** One augmented, normalised view of `img` ([src, src, cin] bytes) written to `out` [S, S, C]. */
export function augmentView(
  img: Uint8Array,
  src: number,
  cin: number,
  o: AugmentOptions,
  rng: Rng,
  out: Float32Array,
  overlay?: () => OverlaySource,
): void {
  const box = sampleBox(src, o, rng);
  const flip = o.flip && rng.uniform() < 0.5;
  const turns = o.rot90 ? Math.floor(rng.uniform() * 4) : 0;
  resample(img, src, cin, box, o.size, o.channels, flip, out, turns);
  const d = o.channels === 3 ? o.distort : undefined;
  const S = o.size;
  if (d && overlay && rng.uniform() < d.overlay) pasteImage(out, S, overlay(), rng);
  if (d && rng.uniform() < d.text) drawText(out, S, rng);
  if (d && rng.uniform() < d.border) addBorder(out, S, rng);
  if (o.jitter > 0 && rng.uniform() < 0.8) jitterInPlace(out, o.channels, o.jitter, rng);
  if (d && rng.uniform() < d.grey) greyscale(out);
  if (d && rng.uniform() < d.blur) gaussianBlur(out, S, 0.5 + 1.5 * rng.uniform());
  if (d && rng.uniform() < d.downscale) downscale(out, S, 2 + Math.floor(rng.uniform() * 3));
  if (d && S % 8 === 0 && rng.uniform() < d.jpeg)
    jpegArtifacts(out, S, 10 + Math.floor(rng.uniform() * 50));
  normalizeUnitPixels(out, o.channels);
}

/** The evaluation view: the whole image resized to S, normalised. */
export function centerView(
  img: Uint8Array,
  src: number,
  cin: number,
  size: number,
  channels: number,
  out: Float32Array,
): void {
  resample(img, src, cin, { x0: 0, y0: 0, w: src, h: src }, size, channels, false, out);
  normalizeUnitPixels(out, channels);
}
