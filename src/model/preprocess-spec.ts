/**
 * How a model wants its images prepared, as recorded in its config.json (`preprocess`). The
 * vectors of a library are only comparable with a query prepared the same way, so ingest,
 * search, eval and the server all take it from the model that makes the vectors.
 */
import { ValidationError } from '../errors.js';

export interface PreprocessSpec {
  /**
   * - `resize-crop` (our models): the short side is resized to round(size / cropRatio) with
   *   sharp's default kernel, then the centre size x size is kept (cropRatio 1: the whole image
   *   if it is square).
   * - `crop-resize` (the official ImageNet evaluation, FFCV's CenterCropRGBImageDecoder): the
   *   centre square of side floor(cropRatio * min(h, w)) is cut from the image, then resized to
   *   size x size by area averaging (cv2.INTER_AREA).
   */
  readonly mode: 'resize-crop' | 'crop-resize';
  /** Fraction of the short side kept (224/256 = 0.875 for the official evaluation). */
  readonly cropRatio: number;
  /** `area` for crop-resize; `default` (sharp's lanczos3) for resize-crop. */
  readonly interpolation: 'area' | 'default';
  /** Per-channel mean and std of RGB in [0, 1]. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** What our own models were trained with, and what a config.json without `preprocess` means. */
export const DEFAULT_PREPROCESS: PreprocessSpec = Object.freeze({
  mode: 'resize-crop',
  cropRatio: 1,
  interpolation: 'default',
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
});

/**
 * The official MatMamba-Vision ImageNet evaluation (tests/test_val_mixnmatch_imagenet.py): a
 * centred square of 224/256 of the short side, area-resized to the model's input side, ImageNet
 * mean and std.
 */
export const OFFICIAL_EVAL_PREPROCESS: PreprocessSpec = Object.freeze({
  mode: 'crop-resize',
  cropRatio: 224 / 256,
  interpolation: 'area',
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
});

/** The problems of a `preprocess` object, one string each. Hand-written, not zod: config.json is
 * read on every process start and a one-off search must not load a schema library. */
function problems(json: unknown): string[] {
  if (!json || typeof json !== 'object' || Array.isArray(json))
    return ['(root): expected an object'];
  const o = json as Record<string, unknown>;
  const out: string[] = [];
  const known = ['mode', 'cropRatio', 'interpolation', 'mean', 'std'];
  for (const k of Object.keys(o)) if (!known.includes(k)) out.push(`${k}: unknown field`);
  if (o['mode'] !== 'resize-crop' && o['mode'] !== 'crop-resize')
    out.push(`mode: expected 'resize-crop' or 'crop-resize', got ${JSON.stringify(o['mode'])}`);
  const r = o['cropRatio'];
  if (typeof r !== 'number' || !(r > 0 && r <= 1))
    out.push(`cropRatio: expected a number in (0, 1], got ${JSON.stringify(r)}`);
  if (o['interpolation'] !== 'area' && o['interpolation'] !== 'default')
    out.push(
      `interpolation: expected 'area' or 'default', got ${JSON.stringify(o['interpolation'])}`,
    );
  for (const k of ['mean', 'std'] as const) {
    const v = o[k];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isFinite(x)))
      out.push(`${k}: expected 3 numbers, got ${JSON.stringify(v)}`);
    else if (k === 'std' && !v.every((x) => (x as number) > 0))
      out.push('std: std values must be > 0');
  }
  return out;
}

/** The `preprocess` field of a config.json (absent: DEFAULT_PREPROCESS). */
export function parsePreprocess(json: unknown): PreprocessSpec {
  if (json === undefined) return DEFAULT_PREPROCESS;
  const issues = problems(json);
  if (issues.length > 0) throw new ValidationError(`invalid preprocess: ${issues.join('; ')}`);
  const s = json as PreprocessSpec;
  if ((s.mode === 'crop-resize') !== (s.interpolation === 'area'))
    throw new ValidationError(
      `invalid preprocess: mode ${s.mode} goes with interpolation ${s.mode === 'crop-resize' ? 'area' : 'default'}`,
    );
  return Object.freeze({
    mode: s.mode,
    cropRatio: s.cropRatio,
    interpolation: s.interpolation,
    mean: [s.mean[0], s.mean[1], s.mean[2]] as const,
    std: [s.std[0], s.std[1], s.std[2]] as const,
  });
}
