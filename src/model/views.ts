/**
 * View pooling: the embedding of an image is the mean of its unit features over a group of
 * views of it (quarter turns, and mirror images where the config asks), so the embedding of a
 * turned or mirrored copy is the embedding of the original, by construction rather than by
 * training (group averaging, as in TI-pooling, Laptev et al., CVPR 2016). With `grey` every
 * view is also taken in greyscale: a greyscale copy then shares half the terms of the mean
 * with its original (an exact invariance only to the turns and mirror).
 *
 *   images [B, S, S, C] ─ the V views, view-major ─ [V·B, S, S, C] ─ encoder ─ features
 *     [V·B, D] ─ / ‖·‖₂ ─ [V, B, D] ─ mean over V ─ pooled [B, D]   (then adapter, whitening)
 *
 * The views always form a group (C_turns, or C_turns x mirror), so the set of views of a turned
 * or mirrored image is the same set: only the order of the mean's terms changes. A square
 * centre crop commutes with quarter turns and mirrors, so this holds for photos of any shape.
 * It costs V encoder passes per image; cost.ts counts them.
 *
 * This file is the one place that says which views a config means and what each does to the
 * pixels (`viewList`, `viewPixels`); vision.ts and the ONNX export build the same views.
 */
import type { MatMambaVisionConfig } from './config.js';

/**
 * The view group of a config: quarter turns (1: none, 2: half turn, 4: all four), mirror, and
 * greyscale copies of all of them.
 */
export interface ViewSpec {
  readonly turns: 1 | 2 | 4;
  readonly mirror: boolean;
  readonly grey?: boolean;
  /**
   * With `grey`, the grey views' share of the mean (default 1/2: every view weighs the same).
   * Below 1/2 the colour views count more: a greyscale copy shares less of its vector with the
   * original, and every other copy, whose colour views carry most of what tells photos apart,
   * is matched more by colour.
   */
  readonly greyShare?: number;
}

/**
 * One view: mirror left-right first (if `mirror`), then `turns` quarter turns anticlockwise,
 * then (if `grey`) the weights' grey map on each pixel's channels.
 */
export interface View {
  readonly mirror: boolean;
  readonly turns: 0 | 1 | 2 | 3;
  readonly grey: boolean;
}

/**
 * The grey view's map of normalised channels, stored with the weights ([C, C] out x in, and [C]):
 * x' = M x + b makes the normalised pixel of luma 0.299 R + 0.587 G + 0.114 B (the trainer's
 * greyscale) from the normalised colour pixel, for the given per-channel mean and std.
 */
export const GREY_WEIGHT = 'views.grey.weight';
export const GREY_BIAS = 'views.grey.bias';
const LUMA = [0.299, 0.587, 0.114] as const;

export function greyMap(
  mean: readonly number[],
  std: readonly number[],
): { weight: Float32Array; bias: Float32Array } {
  // p_k = x_k s_k + m_k;  x'_c = (Σ_k w_k p_k − m_c) / s_c
  const weight = new Float32Array(9);
  const bias = new Float32Array(3);
  const lumaOfMean = LUMA.reduce((a, w, k) => a + w * mean[k]!, 0);
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < 3; k++) weight[c * 3 + k] = (LUMA[k]! * std[k]!) / std[c]!;
    bias[c] = (lumaOfMean - mean[c]!) / std[c]!;
  }
  return { weight, bias };
}

/** Views of a config, the identity first; a config without `views` has only the identity. */
export function viewList(cfg: Pick<MatMambaVisionConfig, 'views'>): View[] {
  const spec = cfg.views ?? NO_VIEWS;
  const step = 4 / spec.turns;
  const out: View[] = [];
  for (const grey of spec.grey ? [false, true] : [false])
    for (const mirror of spec.mirror ? [false, true] : [false])
      for (let k = 0; k < 4; k += step) out.push({ mirror, turns: k as View['turns'], grey });
  return out;
}

/** One view: the group of a config without `views`. */
export const NO_VIEWS: ViewSpec = Object.freeze({ turns: 1, mirror: false });

/**
 * The CLI's names of the view groups (`--views`): the dihedral group d4 (four turns, each also
 * mirrored: 8 passes), the cyclic c4 (4) and c2 (half turn: 2), mirror alone (2), none (1);
 * '+grey' after a name doubles it with greyscale views.
 */
const NAMED: Readonly<Record<string, ViewSpec>> = {
  d4: { turns: 4, mirror: true },
  c4: { turns: 4, mirror: false },
  c2: { turns: 2, mirror: false },
  d2: { turns: 2, mirror: true },
  mirror: { turns: 1, mirror: true },
  none: NO_VIEWS,
};

/**
 * A group by its CLI name; null for an unknown name. '+grey:S' sets the grey views' share of
 * the mean (0 < S < 1; '+grey' is an even mean).
 */
export function parseViewsName(name: string): ViewSpec | null {
  const m = /^([a-z0-9]+)(\+grey(?::(0?\.\d+))?)?$/.exec(name);
  if (!m || !Object.hasOwn(NAMED, m[1]!)) return null;
  if (!m[2]) return NAMED[m[1]!]!;
  if (m[3] === undefined) return { ...NAMED[m[1]!]!, grey: true };
  const greyShare = Number(m[3]);
  if (!(greyShare > 0 && greyShare < 1)) return null;
  return greyShare === 0.5
    ? { ...NAMED[m[1]!]!, grey: true }
    : { ...NAMED[m[1]!]!, grey: true, greyShare };
}

export const VIEW_NAMES = Object.keys(NAMED);

export function viewsName(spec: ViewSpec): string {
  const base = Object.entries(NAMED).find(
    ([, v]) => v.turns === spec.turns && v.mirror === spec.mirror,
  )![0];
  if (!spec.grey) return base;
  return `${base}+grey${spec.greyShare !== undefined && spec.greyShare !== 0.5 ? `:${spec.greyShare}` : ''}`;
}

/** `cfg` with its views replaced (undefined: none). */
export function withViews<T extends Pick<MatMambaVisionConfig, 'views'>>(
  cfg: T,
  views: ViewSpec | undefined,
): T {
  const out: { views?: ViewSpec } = { ...cfg };
  delete out.views;
  if (views) out.views = views;
  return out as T;
}

/**
 * How the weights file's metadata records a view group ('turns 4, mirror, grey', with an uneven
 * grey share 'turns 4, grey 0.3').
 */
export function viewsTag(spec: ViewSpec): string {
  const share = spec.greyShare !== undefined && spec.greyShare !== 0.5 ? ` ${spec.greyShare}` : '';
  return `turns ${spec.turns}${spec.mirror ? ', mirror' : ''}${spec.grey ? `, grey${share}` : ''}`;
}

/**
 * Each view's weight in the mean, in `viewList` order (they sum to 1): 1/V each, or with a
 * `greyShare` s, (1 − s)/V_colour for a colour view and s/V_grey for a grey one.
 */
export function viewWeights(cfg: Pick<MatMambaVisionConfig, 'views'>): number[] {
  const views = viewList(cfg);
  const s = cfg.views?.grey ? (cfg.views.greyShare ?? 0.5) : 0;
  const half = views.length / (s > 0 ? 2 : 1);
  return views.map((v) => (v.grey ? s : 1 - s) / half);
}

export function viewCount(cfg: Pick<MatMambaVisionConfig, 'views'>): number {
  return viewList(cfg).length;
}

/**
 * A view of one [S, S, C] image, written out pixel by pixel (the reference the tensor versions
 * are tested against). Anticlockwise quarter turn: out[i][j] = in[j][S-1-i].
 */
export function viewPixels(
  img: Float32Array,
  S: number,
  C: number,
  v: View,
  grey?: { weight: Float32Array; bias: Float32Array },
): Float32Array {
  let cur = img;
  if (v.mirror) {
    const m = new Float32Array(cur.length);
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++)
        for (let c = 0; c < C; c++) m[(i * S + j) * C + c] = cur[(i * S + (S - 1 - j)) * C + c]!;
    cur = m;
  }
  for (let t = 0; t < v.turns; t++) {
    const r = new Float32Array(cur.length);
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++)
        for (let c = 0; c < C; c++) r[(i * S + j) * C + c] = cur[(j * S + (S - 1 - i)) * C + c]!;
    cur = r;
  }
  if (v.grey) {
    if (!grey) throw new RangeError('a grey view needs the grey map');
    const g = new Float32Array(cur.length);
    for (let p = 0; p < S * S; p++)
      for (let c = 0; c < C; c++) {
        let acc = grey.bias[c]!;
        for (let k = 0; k < C; k++) acc += grey.weight[c * C + k]! * cur[p * C + k]!;
        g[p * C + c] = acc;
      }
    cur = g;
  }
  return cur === img ? img.slice() : cur;
}
