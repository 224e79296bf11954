/** Accumulated gradients of a list of micro-batches (what a worker computes for one step). */
import * as tf from '@tensorflow/tfjs-core';
import type { MatMambaVision } from '../model/vision.js';
import { imageAt, imageCount, type ImageSet } from '../data/image-set.js';
import { Rng } from '../util/rng.js';
import { augmentView, centerView, type AugmentOptions } from './augment.js';
import { cosineDistill, crossEntropy, crossWidthLoss, supConLoss } from './losses.js';

export interface LossOptions {
  readonly labelSmoothing: number;
  /** Weight of the supervised contrastive loss (0 = off). */
  readonly supcon: number;
  readonly temperature: number;
  /** Weight of self-distillation from the full width to narrower ones (0 = off). */
  readonly distill: number;
  /**
   * Weight of the cross-width contrastive loss: each narrower micro-batch's embeddings query the
   * full width's embeddings of the same images (0 = off; absent in older runs).
   */
  readonly cross?: number;
}

export interface MicroBatch {
  readonly width: string;
  readonly indices: number[];
  /** Seed of this micro-batch's augmentation; null = the deterministic evaluation view. */
  readonly seed: number | null;
  /** Loss multiplier: (shard size / micro-batch size) / granularities. */
  readonly scale: number;
}

/**
 * Builds the [B, S, S, C] input of `indices`, augmented (seeded) or centred. With `pairAugment`,
 * `indices` are pairs (k, k+1 for even k) and a pair of two different images (two drawings of one
 * thing) gets `pairAugment` instead of `augment`.
 */
export function batchPixels(
  model: MatMambaVision,
  set: ImageSet,
  indices: readonly number[],
  seed: number | null,
  augment: AugmentOptions | null,
  pairAugment: AugmentOptions | null = null,
): tf.Tensor4D {
  if (seed !== null && !augment)
    throw new Error('batchPixels: an augmented batch needs augment options');
  const { imageSize: S, inChans: C } = model.config;
  const per = S * S * C;
  const buf = new Float32Array(indices.length * per);
  indices.forEach((idx, k) => {
    const out = buf.subarray(k * per, (k + 1) * per);
    if (seed === null) centerView(imageAt(set, idx), set.size, set.channels, S, C, out);
    else {
      const rng = new Rng((seed + 7919 * k) >>> 0);
      // Stickers and logos pasted on a view are other images of the set (3-channel sets only).
      const overlay =
        set.channels === 3
          ? () => ({ img: imageAt(set, rng.int(imageCount(set))), src: set.size })
          : undefined;
      const crossPair = pairAugment !== null && (k ^ 1) < indices.length && indices[k ^ 1] !== idx;
      const o = crossPair ? pairAugment : augment!;
      augmentView(imageAt(set, idx), set.size, set.channels, o, rng, out, overlay);
    }
  });
  return tf.tensor4d(buf, [indices.length, S, S, C]);
}

/** The cross-width loss weight; runs from before the option have none. */
const crossWeight = (o: LossOptions) => o.cross ?? 0;

/** Whether a micro-batch at `width` needs the full width's embeddings of its images. */
export function needsTeacher(o: LossOptions, width: string): boolean {
  return width !== '1' && (o.distill > 0 || crossWeight(o) > 0);
}

/** The scalar loss of one micro-batch at its width (unscaled). */
export function microLoss(
  model: MatMambaVision,
  x: tf.Tensor4D,
  labels: Int32Array,
  width: string,
  o: LossOptions,
  teacher: tf.Tensor2D | null,
): tf.Scalar {
  const { features, logits } = model.forward(x, width);
  let loss: tf.Scalar = logits ? crossEntropy(logits, labels, o.labelSmoothing) : tf.scalar(0);
  if (o.supcon > 0)
    loss = tf.add(loss, tf.mul(supConLoss(features, labels, o.temperature), o.supcon));
  if (teacher && o.distill > 0)
    loss = tf.add(loss, tf.mul(cosineDistill(features, teacher), o.distill));
  if (teacher && crossWeight(o) > 0)
    loss = tf.add(
      loss,
      tf.mul(crossWidthLoss(features, teacher, labels, o.temperature), crossWeight(o)),
    );
  return loss;
}

/**
 * The loss labels of a micro-batch: each image's label, or with `pairLabels` (the indices are
 * pairs k, k+1 for even k, as PairSampler draws them) the first image's label for both of a pair,
 * so a pair of two images of one category is a positive pair. (A copy or cross-style pair shares
 * its label anyway.)
 */
export function lossLabels(set: ImageSet, indices: readonly number[], pairLabels: boolean) {
  return Int32Array.from(indices, (idx, k) => set.labels[pairLabels ? indices[k & ~1]! : idx]!);
}

/**
 * Σ_micro scale · ∇ loss(micro), by parameter name, and each micro-batch's unscaled loss.
 * Gradients are summed in tfjs and read back once.
 */
export function accumulateGradients(
  model: MatMambaVision,
  set: ImageSet,
  micro: readonly MicroBatch[],
  augment: AugmentOptions,
  o: LossOptions,
  pairAugment: AugmentOptions | null = null,
  pairLabels = false,
): { grads: Map<string, Float32Array>; losses: { width: string; loss: number }[] } {
  const vars = [...model.params.values()];
  let acc = new Map<string, tf.Tensor>();
  const losses: { width: string; loss: number }[] = [];
  for (const mb of micro) {
    const x = batchPixels(model, set, mb.indices, mb.seed, augment, pairAugment);
    const labels = lossLabels(set, mb.indices, pairLabels);
    // The teacher of distillation and cross-width loss: the full width on the same images,
    // outside the tape.
    const teacher = needsTeacher(o, mb.width) ? model.encode(x, 1) : null;
    const { value, grads } = tf.variableGrads(
      () => tf.mul(microLoss(model, x, labels, mb.width, o, teacher), mb.scale) as tf.Scalar,
      vars,
    );
    losses.push({ width: mb.width, loss: value.dataSync()[0]! / mb.scale });
    const next = new Map<string, tf.Tensor>();
    for (const [k, g] of Object.entries(grads)) {
      const prev = acc.get(k);
      next.set(k, prev ? tf.add(prev, g) : g);
      if (prev) {
        prev.dispose();
        g.dispose();
      }
    }
    acc = next;
    tf.dispose([x, value, ...(teacher ? [teacher] : [])]);
  }
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.params) {
    const g = acc.get(v.name);
    out.set(name, g ? (g.dataSync() as Float32Array).slice() : new Float32Array(v.size));
  }
  tf.dispose([...acc.values()]);
  return { grads: out, losses };
}
