/**
 * The edits a copy-detection query undergoes, done with sharp on the full-resolution original
 * (RGB, 3 channels in and out). Every random parameter comes from the Rng passed in, so a seeded
 * run makes the same queries on every machine.
 */
import type { Sharp } from 'sharp';
import sharp from '../util/sharp.js';
import type { RawImage } from '../runtime/preprocess.js';
import type { Rng } from '../util/rng.js';
import { ValidationError } from '../errors.js';

export type RgbImage = RawImage & { readonly channels: 3 };

type Step = (img: RgbImage, rng: Rng) => Promise<RgbImage>;

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.uniform();

function open(img: RgbImage): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
}

/** Runs a sharp pipeline to 3-channel raw pixels (dropping alpha, grey replicated). */
async function rgb(s: Sharp): Promise<RgbImage> {
  const { data, info } = await s
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  if (info.channels === 1) {
    // greyscale() wins over toColourspace: replicate the grey channel.
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) out.fill(data[i]!, 3 * i, 3 * i + 3);
    return { data: out, width: info.width, height: info.height, channels: 3 };
  }
  if (info.channels !== 3) throw new ValidationError(`expected RGB, sharp gave ${info.channels}`);
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** A crop box of `area` (fraction of the image) with the image's aspect ratio at a random place. */
export function cropBox(
  width: number,
  height: number,
  area: number,
  rng: Rng,
): { left: number; top: number; width: number; height: number } {
  const s = Math.sqrt(area);
  const w = Math.max(1, Math.min(width, Math.round(width * s)));
  const h = Math.max(1, Math.min(height, Math.round(height * s)));
  return { left: rng.int(width - w + 1), top: rng.int(height - h + 1), width: w, height: h };
}

/** Crop keeping 50-80% of the area. */
const crop: Step = (img, rng) =>
  rgb(open(img).extract(cropBox(img.width, img.height, uniform(rng, 0.5, 0.8), rng)));

const quarter: Step = (img) =>
  rgb(
    open(img).resize(
      Math.max(1, Math.round(img.width / 4)),
      Math.max(1, Math.round(img.height / 4)),
      {
        fit: 'fill',
      },
    ),
  );

const jpeg: Step = async (img) => rgb(sharp(await open(img).jpeg({ quality: 20 }).toBuffer()));

const flip: Step = (img) => rgb(open(img).flop());

const rot90: Step = (img) => rgb(open(img).rotate(90));

/** Brightness x0.7-1.3, contrast x0.7-1.3 about mid-grey, saturation x0.4-1.6. */
const colour: Step = async (img, rng) => {
  const contrast = uniform(rng, 0.7, 1.3);
  const modulated = await rgb(
    open(img).modulate({ brightness: uniform(rng, 0.7, 1.3), saturation: uniform(rng, 0.4, 1.6) }),
  );
  return rgb(open(modulated).linear(contrast, 128 * (1 - contrast)));
};

const grey: Step = (img) => rgb(open(img).greyscale());

/** Gaussian blur, sigma 0.5-1.25% of the short side. */
const blur: Step = (img, rng) =>
  rgb(open(img).blur(Math.max(0.3, uniform(rng, 0.005, 0.0125) * Math.min(img.width, img.height))));

const WORDS = ['SAMPLE', 'copyright 2026', 'holiday', 'matsearch', 'PREVIEW', 'photo by me'];
const COLOURS = ['#ffffff', '#000000', '#ff3030', '#ffd700', '#20c0ff'];

/** A line of text and a small round logo (a disc with a star), at random places. */
const overlay: Step = (img, rng) => {
  const W = img.width;
  const H = img.height;
  const short = Math.min(W, H);
  const font = Math.max(8, Math.round(short * uniform(rng, 0.06, 0.1)));
  const word = WORDS[rng.int(WORDS.length)]!;
  const tx = Math.round(uniform(rng, 0, 0.5) * W);
  const ty = Math.round(uniform(rng, 0.15, 0.95) * H);
  const r = Math.max(4, Math.round(short * uniform(rng, 0.06, 0.1)));
  const cx = Math.round(uniform(rng, r, W - r));
  const cy = Math.round(uniform(rng, r, H - r));
  const c1 = COLOURS[rng.int(COLOURS.length)]!;
  const c2 = COLOURS[rng.int(COLOURS.length)]!;
  const star = Array.from({ length: 10 }, (_, i) => {
    const a = (Math.PI * i) / 5 - Math.PI / 2;
    const rr = i % 2 === 0 ? 0.8 * r : 0.35 * r;
    return `${(cx + rr * Math.cos(a)).toFixed(1)},${(cy + rr * Math.sin(a)).toFixed(1)}`;
  }).join(' ');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">` +
    `<text x="${tx}" y="${ty}" font-size="${font}" font-family="sans-serif" font-weight="bold" fill="${c1}" stroke="#000" stroke-width="${Math.max(1, font / 20).toFixed(1)}">${word}</text>` +
    `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${c2}" stroke="#333" stroke-width="2"/>` +
    `<polygon points="${star}" fill="${c1 === c2 ? '#7030a0' : c1}"/></svg>`;
  return rgb(open(img).composite([{ input: Buffer.from(svg), left: 0, top: 0 }]));
};

/** An unchanged copy (for tests: any sound method finds it). */
const identity: Step = async (img) => img;

const STEPS: Record<string, Step> = {
  identity,
  crop,
  resize: quarter,
  jpeg,
  flip,
  rot90,
  colour,
  grey,
  blur,
  overlay,
};

/** The default query transforms: single edits, then combinations (steps joined by '+'). */
export const COPY_TRANSFORMS: readonly string[] = [
  'crop',
  'resize',
  'jpeg',
  'flip',
  'rot90',
  'colour',
  'grey',
  'blur',
  'overlay',
  'crop+jpeg',
  'grey+blur+overlay',
  'flip+colour+resize',
];

/** What each step does, for the report. */
export const TRANSFORM_TEXT: Record<string, string> = {
  identity: 'unchanged copy',
  crop: 'crop keeping 50-80% of the area (same aspect ratio, random position)',
  resize: 'resized to 1/4 of each side',
  jpeg: 'JPEG quality 20',
  flip: 'horizontal flip',
  rot90: 'rotated 90 degrees clockwise',
  colour: 'brightness x0.7-1.3, saturation x0.4-1.6, contrast x0.7-1.3',
  grey: 'greyscale',
  blur: 'Gaussian blur, sigma 0.5-1.25% of the short side',
  overlay: 'a line of text and a small disc-and-star logo pasted on',
};

/** Applies a transform such as 'crop+jpeg' (steps left to right). */
export async function applyTransform(name: string, img: RgbImage, rng: Rng): Promise<RgbImage> {
  let out = img;
  for (const step of name.split('+')) {
    const f = STEPS[step];
    if (!f)
      throw new ValidationError(
        `unknown transform '${step}': use ${Object.keys(STEPS).join(', ')}, joined by '+'`,
      );
    out = await f(out, rng);
  }
  return out;
}

/** An RGB image from any input sharp reads: EXIF-oriented, alpha flattened on white. */
export async function decodeRgb(input: string | Uint8Array | RawImage): Promise<RgbImage> {
  const s =
    typeof input === 'string' || input instanceof Uint8Array
      ? sharp(input)
      : sharp(input.data, {
          raw: { width: input.width, height: input.height, channels: input.channels },
        });
  return rgb(s.rotate().flatten({ background: '#ffffff' }));
}
