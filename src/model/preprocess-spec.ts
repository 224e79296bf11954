/**
 * How a model wants its images prepared, as recorded in its config.json (`preprocess`). The
 * vectors of a library are only comparable with a query prepared the same way, so ingest,
 * search, eval and the server all take it from the model that makes the vectors.
 */
import { z } from 'zod';
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

const triple = z.tuple([z.number(), z.number(), z.number()]);
const specSchema = z
  .object({
    mode: z.enum(['resize-crop', 'crop-resize']),
    cropRatio: z.number().gt(0).lte(1),
    interpolation: z.enum(['area', 'default']),
    mean: triple,
    std: triple.refine((s) => s.every((v) => v > 0), 'std values must be > 0'),
  })
  .strict();

/** The `preprocess` field of a config.json (absent: DEFAULT_PREPROCESS). */
export function parsePreprocess(json: unknown): PreprocessSpec {
  if (json === undefined) return DEFAULT_PREPROCESS;
  const r = specSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError(`invalid preprocess: ${issues.join('; ')}`);
  }
  const s = r.data;
  if ((s.mode === 'crop-resize') !== (s.interpolation === 'area'))
    throw new ValidationError(
      `invalid preprocess: mode ${s.mode} goes with interpolation ${s.mode === 'crop-resize' ? 'area' : 'default'}`,
    );
  return Object.freeze({ ...s });
}
