/**
 * The Matryoshka nesting rule of MatMamba (Shukla et al. 2024), and the only file that knows it.
 *
 * A block at width w (an active model dim w <= D, i.e. a fraction w/D of the model) uses
 *   - the first e = expand·w channels of z and x (rows of in_proj, channels of the conv),
 *   - the first h = e / headDim heads of dt, dt_bias, A_log and D,
 *   - the first e entries of the gated-norm weight (so its RMS runs over those e channels),
 *   - the first e input columns of out_proj,
 *   - and all of B, C (d_state) and d_model, which are never sliced.
 * Every width therefore writes a d_model-wide residual stream and shares one embedding space.
 * Mix'n'Match picks a width per layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors.js';
import type { MatMambaVisionConfig } from './config.js';
import type { MixerWeights } from './mamba2.js';

/**
 * A width: a fraction of d_model (1, 0.5, "1/4", "3/8"), or one per layer. A string may list
 * per-layer widths with repeats: "1/8x10,1/4x10" is ten layers at 1/8 then ten at 1/4.
 */
export type WidthSpec = number | string | readonly (number | string)[];

/** The standard nested granularities trained jointly (g = 4). */
export const STANDARD_WIDTHS = ['1', '1/2', '1/4', '1/8'] as const;

/** Parses one width ("1/4", "0.25", 0.25) to an exact active dim for this config. */
export function widthToDim(cfg: MatMambaVisionConfig, w: number | string): number {
  let dim: number;
  const s = typeof w === 'string' ? w.trim() : String(w);
  const frac = /^(\d+)\s*\/\s*(\d+)$/.exec(s);
  if (frac) {
    dim = (cfg.dModel * Number(frac[1])) / Number(frac[2]);
  } else if (/^(\d+(\.\d*)?|\.\d+)(e-?\d+)?$/i.test(s)) {
    dim = cfg.dModel * Number(s);
  } else {
    throw new ValidationError(`cannot read width '${s}': use a fraction like 1, 1/2, 0.25 or 3/8`);
  }
  const rounded = Math.round(dim);
  if (Math.abs(dim - rounded) > 1e-6 || rounded <= 0 || rounded > cfg.dModel) {
    throw new ValidationError(
      `width ${s} of d_model ${cfg.dModel} is ${dim}: it must give a whole number of channels ` +
        `between 1 and ${cfg.dModel}`,
    );
  }
  checkDim(cfg, rounded, s);
  return rounded;
}

function checkDim(cfg: MatMambaVisionConfig, dim: number, shown: string): void {
  const inner = cfg.expand * dim;
  if (!Number.isInteger(inner) || inner % cfg.headDim !== 0) {
    const step = stepDim(cfg);
    throw new ValidationError(
      `width ${shown} gives inner width ${inner}, not a whole number of heads of ${cfg.headDim} ` +
        `channels; widths must be multiples of ${step}/${cfg.dModel}`,
    );
  }
}

/** The smallest dim step that keeps whole heads. */
function stepDim(cfg: MatMambaVisionConfig): number {
  for (let d = 1; d <= cfg.dModel; d++) {
    const inner = cfg.expand * d;
    if (Number.isInteger(inner) && inner % cfg.headDim === 0) return d;
  }
  return cfg.dModel;
}

/** Resolves a spec to one active dim per layer. */
export function resolveWidths(cfg: MatMambaVisionConfig, spec: WidthSpec = 1): number[] {
  let items: (number | string)[];
  if (typeof spec === 'string') items = expandList(spec, cfg.nLayer);
  else if (typeof spec === 'number') items = [spec];
  else
    items = spec.flatMap((s): (number | string)[] =>
      typeof s === 'string' ? expandList(s, cfg.nLayer) : [s],
    );
  if (items.length === 1) items = Array<number | string>(cfg.nLayer).fill(items[0]!);
  if (items.length !== cfg.nLayer) {
    throw new ValidationError(
      `got ${items.length} per-layer widths for a model of ${cfg.nLayer} layers`,
    );
  }
  return items.map((w) => widthToDim(cfg, w));
}

/** "1/8x10,1/4x10" -> per-layer items; a repeat count past `nLayer` is refused before it is built. */
function expandList(s: string, nLayer: number): string[] {
  return s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .flatMap((p) => {
      const m = /^(.+?)\s*x\s*(\d+)$/i.exec(p);
      if (!m) return [p];
      const n = Number(m[2]);
      if (n > nLayer)
        throw new ValidationError(
          `'${p}' repeats a width ${m[2]} times, more than the model's ${nLayer} layers`,
        );
      return Array<string>(n).fill(m[1]!);
    });
}

/** "1", "1/2" ... for one dim. */
export function fractionLabel(cfg: MatMambaVisionConfig, dim: number): string {
  const g = gcd(dim, cfg.dModel);
  const [a, b] = [dim / g, cfg.dModel / g];
  return b === 1 ? String(a) : `${a}/${b}`;
}

/** Canonical label of per-layer dims: "1/4" when uniform, else runs like "1/8x10,1/4x10". */
export function widthLabel(cfg: MatMambaVisionConfig, dims: readonly number[]): string {
  const runs: [string, number][] = [];
  for (const d of dims) {
    const f = fractionLabel(cfg, d);
    const last = runs[runs.length - 1];
    if (last && last[0] === f) last[1]++;
    else runs.push([f, 1]);
  }
  if (runs.length === 1) return runs[0]![0];
  return runs.map(([f, n]) => (n === 1 ? f : `${f}x${n}`)).join(',');
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Mean active fraction of d_model over the layers (1 = full width): orders vectors by width. */
export function widthRank(cfg: MatMambaVisionConfig, spec: WidthSpec): number {
  const dims = resolveWidths(cfg, spec);
  return dims.reduce((s, d) => s + d, 0) / dims.length / cfg.dModel;
}

/** Active inner width e and head count h of a block at dim w. */
export function activeSizes(cfg: MatMambaVisionConfig, dim: number) {
  const e = cfg.expand * dim;
  return { e, h: e / cfg.headDim };
}

/** The sub-block weights at active dim `dim`. Full width returns the tensors as they are. */
export function sliceMixer(
  full: MixerWeights,
  cfg: MatMambaVisionConfig,
  dim: number,
): MixerWeights {
  if (dim === cfg.dModel) return full;
  const E = cfg.expand * cfg.dModel;
  const N = cfg.dState;
  const { e, h } = activeSizes(cfg, dim);
  const rows = (t: tf.Tensor2D, start: number, n: number) =>
    tf.slice(t, [start, 0], [n, t.shape[1]]);
  const D = full.inProj.shape[1];
  const K = full.convWeight.shape[2];
  return {
    // in_proj rows [z | x | B, C | dt] -> [z[:e] | x[:e] | B, C | dt[:h]]
    inProj: tf.concat([
      rows(full.inProj, 0, e),
      rows(full.inProj, E, e),
      rows(full.inProj, 2 * E, 2 * N),
      rows(full.inProj, 2 * E + 2 * N, h),
    ]) as tf.Tensor2D,
    // conv channels [x | B, C] -> [x[:e] | B, C]
    convWeight: tf.concat([
      tf.slice(full.convWeight, [0, 0, 0], [e, 1, K]),
      tf.slice(full.convWeight, [E, 0, 0], [2 * N, 1, K]),
    ]) as tf.Tensor3D,
    convBias: tf.concat([tf.slice(full.convBias, 0, e), tf.slice(full.convBias, E, 2 * N)]),
    dtBias: tf.slice(full.dtBias, 0, h),
    ALog: tf.slice(full.ALog, 0, h),
    D: tf.slice(full.D, 0, h),
    normWeight: tf.slice(full.normWeight, 0, e),
    outProj: tf.slice(full.outProj, [0, 0], [D, e]),
  };
}
