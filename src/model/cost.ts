/**
 * Parameter counts and multiply-accumulates per image of a (sub)model, from the config alone.
 * Counts only what a width actually uses (nesting.ts's rule), so the figures for widths
 * 1, 1/2, 1/4, 1/8 are the sizes of the nested submodels.
 */
import type { MatMambaVisionConfig } from './config.js';
import { dims } from './config.js';
import { activeSizes, resolveWidths, type WidthSpec } from './nesting.js';
import { adapterFor } from './params.js';
import { viewCount } from './views.js';

export interface ModelCost {
  /** Parameters the submodel uses (shared embedding, norms and head included). */
  readonly params: number;
  /** Multiply-accumulates for one image (matmuls, the conv and the SSD products; elementwise ops excluded). */
  readonly macs: number;
}

/** Parameters of one block at active dim `dim`. */
function blockParams(cfg: MatMambaVisionConfig, dim: number): number {
  const { e, h } = activeSizes(cfg, dim);
  const D = cfg.dModel;
  const N = cfg.dState;
  const inProj = D * (2 * e + 2 * N + h);
  const conv = (e + 2 * N) * (cfg.dConv + 1); // weight + bias
  const ssm = 3 * h; // dt_bias, A_log, D
  return (
    inProj + conv + ssm + e /* gated norm */ + D * e /* out_proj */ + 2 * D
  ); /* block LayerNorm */
}

/** MACs of one block at active dim `dim` over L tokens, following ssd.ts's chunked algorithm. */
function blockMacs(cfg: MatMambaVisionConfig, dim: number, L: number): number {
  const { e, h } = activeSizes(cfg, dim);
  const D = cfg.dModel;
  const N = cfg.dState;
  const P = cfg.headDim;
  const Lc = Math.min(cfg.chunkSize, L);
  const c = Math.ceil(L / Lc);
  let ssd = c * Lc * Lc * N + c * Lc * Lc * e; // C·Bᵀ, then (L ∘ CBᵀ) X for every head
  if (c > 1) ssd += 2 * c * Lc * e * N + h * (c + 1) * (c + 1) * P * N; // chunk states, passing, output
  return L * D * (2 * e + 2 * N + h) + L * (e + 2 * N) * cfg.dConv + ssd + L * e * D;
}

/** Params and MACs per image of the submodel at `widths` (one or per layer). */
export function modelCost(cfg: MatMambaVisionConfig, widths: WidthSpec = 1): ModelCost {
  const layerDims = resolveWidths(cfg, widths);
  const { nPatches: T, seqLen: L } = dims(cfg);
  const D = cfg.dModel;
  const patchIn = cfg.inChans * cfg.patchSize * cfg.patchSize;
  let params =
    D /* cls */ + L * D /* pos */ + D * patchIn + D /* patch embed */ + 2 * D; /* norm_f */
  params += cfg.nClasses > 0 ? cfg.nClasses * D + cfg.nClasses : 0;
  // Every view (views.ts) runs the encoder once; the pooled vector is mapped once.
  const V = viewCount(cfg);
  let encoder = T * D * patchIn;
  for (const d of layerDims) encoder += blockMacs(cfg, d, L);
  let macs = V * encoder + cfg.nClasses * D;
  // The grey views' channel map, once per pixel (views.ts).
  if (cfg.views?.grey) {
    macs += cfg.imageSize * cfg.imageSize * cfg.inChans * cfg.inChans;
    params += cfg.inChans * cfg.inChans + cfg.inChans;
  }
  if (cfg.whiten) {
    params += D * D + D;
    macs += D * D;
  }
  // A uniform width with an adapter runs one more D x D map (Mix'n'Match lists have none).
  if (adapterFor(cfg, layerDims)) {
    params += D * D;
    macs += D * D;
  }
  for (const d of layerDims) params += blockParams(cfg, d);
  return { params, macs };
}
