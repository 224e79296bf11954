/**
 * Parameter names, shapes and the official initialisation of MatMamba-Vision.
 *
 * Names are the PyTorch state_dict keys of the official MatMamba2Vision, so a converted
 * checkpoint loads by name with a shape check and no renaming.
 */
import type { MatMambaVisionConfig } from './config.js';
import { dims } from './config.js';
import { Rng } from '../util/rng.js';
import { widthLabel } from './nesting.js';
import { DEFAULT_PREPROCESS } from './preprocess-spec.js';
import { GREY_BIAS, GREY_WEIGHT, greyMap } from './views.js';

export type ParamShapes = Map<string, number[]>;

/** Per-layer mixer parameter suffixes, in state_dict order. */
export const MIXER_KEYS = [
  'in_proj.weight',
  'conv1d.weight',
  'conv1d.bias',
  'dt_bias',
  'A_log',
  'D',
  'norm.weight',
  'out_proj.weight',
] as const;

export const layerKey = (i: number, suffix: string) => `layers.${i}.${suffix}`;
/** The width adapter of a narrow query width ('1/4' -> 'adapters.1_4.weight'). */
export const adapterKey = (width: string) => `adapters.${width.replace('/', '_')}.weight`;

/** The adapter's parameter name for per-layer active dims, or null (not uniform, or none). */
export function adapterFor(cfg: MatMambaVisionConfig, layerDims: readonly number[]): string | null {
  if (!cfg.adapters?.length || new Set(layerDims).size !== 1) return null;
  const label = widthLabel(cfg, layerDims);
  return cfg.adapters.includes(label) ? adapterKey(label) : null;
}
export const mixerKey = (i: number, suffix: (typeof MIXER_KEYS)[number]) =>
  `layers.${i}.mixer.${suffix}`;

/** Every parameter of the full model with its shape, in state_dict order. */
export function paramShapes(cfg: MatMambaVisionConfig): ParamShapes {
  const { dInner: E, nHeads: H, nPatches, convDim, inProjDim } = dims(cfg);
  const D = cfg.dModel;
  const s: ParamShapes = new Map();
  s.set('cls_token', [1, 1, D]);
  s.set('pos_embed', [1, nPatches + 1, D]);
  s.set('patch_embed.proj.weight', [D, cfg.inChans, cfg.patchSize, cfg.patchSize]);
  s.set('patch_embed.proj.bias', [D]);
  if (cfg.nClasses > 0) {
    s.set('head.weight', [cfg.nClasses, D]);
    s.set('head.bias', [cfg.nClasses]);
  }
  for (let i = 0; i < cfg.nLayer; i++) {
    s.set(layerKey(i, 'norm.weight'), [D]);
    s.set(layerKey(i, 'norm.bias'), [D]);
    s.set(mixerKey(i, 'in_proj.weight'), [inProjDim, D]);
    s.set(mixerKey(i, 'conv1d.weight'), [convDim, 1, cfg.dConv]);
    s.set(mixerKey(i, 'conv1d.bias'), [convDim]);
    s.set(mixerKey(i, 'dt_bias'), [H]);
    s.set(mixerKey(i, 'A_log'), [H]);
    s.set(mixerKey(i, 'D'), [H]);
    s.set(mixerKey(i, 'norm.weight'), [E]);
    s.set(mixerKey(i, 'out_proj.weight'), [D, E]);
  }
  s.set('norm_f.weight', [D]);
  s.set('norm_f.bias', [D]);
  for (const w of cfg.adapters ?? []) s.set(adapterKey(w), [D, D]); // [out, in], whitening.ts
  if (cfg.whiten) {
    s.set('whiten.weight', [D, D]); // [out, in], learnt after training (whitening.ts)
    s.set('whiten.bias', [D]);
  }
  if (cfg.views?.grey) {
    s.set(GREY_WEIGHT, [cfg.inChans, cfg.inChans]); // [out, in], fixed by the preprocessing (views.ts)
    s.set(GREY_BIAS, [cfg.inChans]);
  }
  return s;
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Fresh weights with the official init:
 * - Linear / Conv weights: PyTorch's default kaiming_uniform(a=√5), i.e. U(±1/√fan_in); conv
 *   biases U(±1/√fan_in); Linear biases zero.
 * - out_proj: the same, divided by √n_layer (GPT-2 style residual scaling).
 * - A_log = log U(1, 16); dt_bias = softplus⁻¹(dt), dt = exp U(log 1e-3, log 1e-1) floored at
 *   1e-4; D = 1; norms weight 1, bias 0.
 * - pos_embed N(0, 0.02²); cls_token 0.
 */
export function initParams(cfg: MatMambaVisionConfig, seed = 0): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  const uniform = (n: number, bound: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (rng.uniform() * 2 - 1) * bound;
    return a;
  };
  const fill = (n: number, v: number) => new Float32Array(n).fill(v);
  for (const [name, shape] of paramShapes(cfg)) {
    const n = numel(shape);
    const fanIn = numel(shape.slice(1));
    let v: Float32Array;
    if (name === GREY_WEIGHT || name === GREY_BIAS) {
      // Our models' preprocessing (preprocess-spec.ts); model whiten sets it from the model's.
      const g = greyMap(DEFAULT_PREPROCESS.mean, DEFAULT_PREPROCESS.std);
      v = name === GREY_WEIGHT ? g.weight : g.bias;
    } else if (name === 'whiten.weight' || name.startsWith('adapters.')) {
      v = new Float32Array(n);
      for (let i = 0; i < shape[0]!; i++) v[i * shape[0]! + i] = 1; // identity until learnt
    } else if (
      name === 'cls_token' ||
      (name.endsWith('.bias') && !name.includes('conv1d') && !name.startsWith('patch_embed'))
    ) {
      v = fill(n, 0);
    } else if (name === 'pos_embed') {
      v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = rng.normal() * 0.02;
    } else if (name === 'patch_embed.proj.bias') {
      v = uniform(n, 1 / Math.sqrt(cfg.inChans * cfg.patchSize * cfg.patchSize));
    } else if (name.endsWith('conv1d.bias')) {
      v = uniform(n, 1 / Math.sqrt(cfg.dConv));
    } else if (
      name.endsWith('norm.weight') ||
      name.endsWith('norm_f.weight') ||
      name.endsWith('.D')
    ) {
      v = fill(n, 1);
    } else if (name.endsWith('A_log')) {
      v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = Math.log(1 + 15 * rng.uniform());
    } else if (name.endsWith('dt_bias')) {
      v = new Float32Array(n);
      const [lo, hi] = [Math.log(1e-3), Math.log(1e-1)];
      for (let i = 0; i < n; i++) {
        const dt = Math.max(Math.exp(lo + (hi - lo) * rng.uniform()), 1e-4);
        v[i] = dt + Math.log(-Math.expm1(-dt)); // inverse softplus
      }
    } else if (name.endsWith('out_proj.weight')) {
      v = uniform(n, 1 / Math.sqrt(fanIn) / Math.sqrt(cfg.nLayer));
    } else {
      v = uniform(n, 1 / Math.sqrt(fanIn)); // in_proj, conv1d, patch_embed, head weights
    }
    out.set(name, v);
  }
  return out;
}
