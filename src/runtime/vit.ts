/**
 * A plain ViT encoder (Dosovitskiy et al. 2021, timm's VisionTransformer) as the speed baseline
 * for MatMamba-Vision: its config, parameter shapes under timm's state_dict names, seeded random
 * weights and its MACs. The graph is in export-vit.ts; speed does not depend on the weights.
 */
import { ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';

export interface VitConfig {
  /** Token width D. */
  readonly dModel: number;
  /** Transformer blocks. */
  readonly nLayer: number;
  /** Attention heads (D / nHeads per head). */
  readonly nHeads: number;
  /** MLP hidden width = mlpRatio · D. */
  readonly mlpRatio: number;
  readonly patchSize: number;
  /** Side the position table was trained at. */
  readonly imageSize: number;
  readonly inChans: number;
  /** LayerNorm epsilon (timm: 1e-6). */
  readonly normEps: number;
}

/** ViT-S/16: 384 wide, 12 blocks, 6 heads, MLP 4x, 224 px (about 22 M parameters). */
export const VIT_S16: VitConfig = Object.freeze({
  dModel: 384,
  nLayer: 12,
  nHeads: 6,
  mlpRatio: 4,
  patchSize: 16,
  imageSize: 224,
  inChans: 3,
  normEps: 1e-6,
});

export const vitBlockKey = (i: number, suffix: string) => `blocks.${i}.${suffix}`;

/** Every parameter with its shape, timm names. */
export function vitParamShapes(cfg: VitConfig): Map<string, number[]> {
  if (cfg.dModel % cfg.nHeads !== 0) {
    throw new ValidationError(`dModel ${cfg.dModel} is not a multiple of nHeads ${cfg.nHeads}`);
  }
  const D = cfg.dModel;
  const M = cfg.mlpRatio * D;
  const grid = cfg.imageSize / cfg.patchSize;
  const s = new Map<string, number[]>();
  s.set('cls_token', [1, 1, D]);
  s.set('pos_embed', [1, grid * grid + 1, D]);
  s.set('patch_embed.proj.weight', [D, cfg.inChans, cfg.patchSize, cfg.patchSize]);
  s.set('patch_embed.proj.bias', [D]);
  for (let i = 0; i < cfg.nLayer; i++) {
    const k = (x: string) => vitBlockKey(i, x);
    s.set(k('norm1.weight'), [D]);
    s.set(k('norm1.bias'), [D]);
    s.set(k('attn.qkv.weight'), [3 * D, D]);
    s.set(k('attn.qkv.bias'), [3 * D]);
    s.set(k('attn.proj.weight'), [D, D]);
    s.set(k('attn.proj.bias'), [D]);
    s.set(k('norm2.weight'), [D]);
    s.set(k('norm2.bias'), [D]);
    s.set(k('mlp.fc1.weight'), [M, D]);
    s.set(k('mlp.fc1.bias'), [M]);
    s.set(k('mlp.fc2.weight'), [D, M]);
    s.set(k('mlp.fc2.bias'), [D]);
  }
  s.set('norm.weight', [D]);
  s.set('norm.bias', [D]);
  return s;
}

/** Seeded random weights: matrices U(±1/√fan_in), norms 1 ± 0.1, everything else N(0, 0.02²). */
export function randomVitWeights(cfg: VitConfig, seed = 0): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of vitParamShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    const isMatrix = name.endsWith('.weight') && shape.length >= 2;
    const isNorm = /norm\d?\.weight$/.test(name);
    for (let i = 0; i < n; i++) {
      if (isMatrix) a[i] = (rng.uniform() * 2 - 1) / Math.sqrt(fanIn);
      else if (isNorm) a[i] = 1 + 0.1 * (rng.uniform() * 2 - 1);
      else a[i] = 0.02 * rng.normal();
    }
    out.set(name, a);
  }
  return out;
}

/** Parameters and MACs per image at side `imageSize` (matmuls only, as modelCost counts). */
export function vitCost(cfg: VitConfig, imageSize = cfg.imageSize) {
  const D = cfg.dModel;
  const M = cfg.mlpRatio * D;
  const T = (imageSize / cfg.patchSize) ** 2;
  const L = T + 1;
  let params = 0;
  for (const shape of vitParamShapes(cfg).values()) params += shape.reduce((a, b) => a * b, 1);
  const perLayer = L * (4 * D * D + 2 * D * M) + 2 * L * L * D; // projections, MLP, QKᵀ and AV
  const macs = T * D * cfg.inChans * cfg.patchSize ** 2 + cfg.nLayer * perLayer;
  return { params, macs };
}
