/**
 * Classification with a model's head: logits -> softmax -> the top k classes with their names.
 * The head is shared by every width (as in the official code), so any width classifies.
 *
 *   const [r] = await classifyInputs(embedder, [input], { width: '1/4', top: 5 });
 *   r.classes[0]   // { index: 207, label: 'golden retriever', probability: 0.83 }
 */
import type { Embedder } from '../embed/embedder.js';
import { NoHeadError, ValidationError } from '../errors.js';
import type { WidthSpec } from '../model/widths.js';

export interface ClassScore {
  /** Class index (the head's output row). */
  readonly index: number;
  /** Its name, or null when the model's classes have none (see model/class-labels.ts). */
  readonly label: string | null;
  /** Softmax probability. */
  readonly probability: number;
}

export interface Classification {
  /** Canonical label of the width that ran. */
  readonly width: string;
  readonly modelId: string;
  /** The top classes, most probable first. */
  readonly classes: readonly ClassScore[];
}

export interface ClassifyOptions {
  /** Encoder width (default 1). */
  readonly width?: WidthSpec;
  /** Classes to return per image (default 5; at most the number of classes). */
  readonly top?: number;
}

/** Softmax in float64, shifted by the maximum so that large logits cannot overflow. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** The `k` most probable classes of one image's logits (ties: the lower index first). */
export function topClasses(
  logits: ArrayLike<number>,
  k: number,
  labels: readonly string[] | null,
): ClassScore[] {
  const p = softmax(logits);
  const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]! || a - b);
  return order.slice(0, k).map((index) => ({
    index,
    label: labels?.[index] ?? null,
    probability: p[index]!,
  }));
}

/** Throws unless the embedder can classify: the message says why and what to use instead. */
export function checkCanClassify(embedder: Embedder): void {
  if (!embedder.classify || !embedder.nClasses)
    throw new NoHeadError(
      `${embedder.modelId} has no classification head (it was trained for retrieval only); ` +
        'classify needs a model with one, e.g. an imported official ImageNet checkpoint',
    );
}

/** Classifies preprocessed inputs (as `embed` takes them) with the embedder's head. */
export async function classifyInputs(
  embedder: Embedder,
  inputs: readonly Float32Array[],
  o: ClassifyOptions = {},
): Promise<Classification[]> {
  checkCanClassify(embedder);
  const n = embedder.nClasses!;
  const top = o.top ?? 5;
  if (!Number.isInteger(top) || top < 1)
    throw new ValidationError(`top must be a whole number >= 1, got ${top}`);
  const width = o.width ?? 1;
  const label = embedder.widthLabel(width); // validates the width before any work
  const logits = await embedder.classify!(inputs, width);
  const names = embedder.classLabels ?? null;
  return logits.map((l) => ({
    width: label,
    modelId: embedder.modelId,
    classes: topClasses(l, Math.min(top, n), names),
  }));
}
