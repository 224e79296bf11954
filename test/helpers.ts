/** Shared test helpers: backend start-up, seeded random weights, comparisons. */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/model/backend.js';
import { makeConfig, type ConfigInput, type MatMambaVisionConfig } from '../src/model/config.js';
import { numel, paramShapes } from '../src/model/params.js';
import { Rng } from '../src/util/rng.js';

export async function setup(): Promise<void> {
  await initBackend({ purpose: 'inference' });
}

/** A small config that still has several heads, several layers and a multi-chunk scan. */
export function smallConfig(over: Partial<ConfigInput> = {}): MatMambaVisionConfig {
  return makeConfig({
    dModel: 32,
    nLayer: 3,
    dState: 8,
    headDim: 4,
    patchSize: 4,
    imageSize: 12,
    nClasses: 5,
    chunkSize: 4,
    ...over,
  });
}

/**
 * Weights with every entry random (not the init, whose constants — D = 1, zero biases, zero CLS —
 * would hide a mis-sliced tensor), but in ranges that keep the model well-conditioned.
 */
export function randomWeights(cfg: MatMambaVisionConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of paramShapes(cfg)) {
    const n = numel(shape);
    const a = new Float32Array(n);
    const fanIn = Math.max(1, numel(shape.slice(1)));
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      if (name.endsWith('A_log'))
        a[i] = u * 2; // A in [-e^2, -1]
      else if (name.endsWith('dt_bias'))
        a[i] = -4 + 3 * u; // dt ~ 0.02..0.3
      else if (name.endsWith('norm.weight') || name.endsWith('norm_f.weight')) a[i] = 0.5 + u;
      else if (name.endsWith('.D')) a[i] = 0.5 + u;
      else
        a[i] =
          rng.normal() *
          (shape.length >= 2 && name !== 'pos_embed' && name !== 'cls_token'
            ? 1 / Math.sqrt(fanIn)
            : 0.3);
    }
    out.set(name, a);
  }
  return out;
}

/** Random NHWC images as a flat array. */
export function randomImages(cfg: MatMambaVisionConfig, batch: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: batch * cfg.imageSize * cfg.imageSize * cfg.inChans }, () =>
    rng.normal(),
  );
}

export function imagesTensor(cfg: MatMambaVisionConfig, data: Float32Array): tf.Tensor4D {
  const per = cfg.imageSize * cfg.imageSize * cfg.inChans;
  return tf.tensor4d(data, [data.length / per, cfg.imageSize, cfg.imageSize, cfg.inChans]);
}

/** max |a - b| / max |b|: the relative error we report. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  return diff;
}

/** v scaled to unit length, in float64 (a reference for the models' L2 normalisation). */
export function unit64(v: Float64Array): Float64Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** m x (+ b) for a row-major [D, D] matrix m, in float64 (a reference for the linear maps). */
export function matvec64(m: Float32Array, x: Float64Array, b?: Float32Array): Float64Array {
  const D = x.length;
  return Float64Array.from({ length: D }, (_, o) => {
    let acc = b ? b[o]! : 0;
    for (let k = 0; k < D; k++) acc += m[o * D + k]! * x[k]!;
    return acc;
  });
}
