/**
 * Mix'n'Match: the per-layer widths that best use a compute budget.
 *
 * The heuristic of MatFormer / MatMamba: use only the jointly trained granularities (1/8, 1/4,
 * 1/2, 1), change granularity as few times as possible, and only between neighbours, the
 * narrower layers first and the wider ones last. Between the costs of two neighbouring
 * granularities w < w', the candidates are therefore "k layers at w, then n - k at w'", and the
 * helper takes the one with the most compute that fits the budget. Equal budgets give equal
 * answers, a larger budget never a narrower layer, and a budget equal to a standard model's cost
 * gives exactly that model.
 *
 * A budget is MACs per image (from the config, as `matsearch model info` counts them), or a
 * latency in ms per image together with the per-width latencies measured on this machine
 * (latency.ts); a layer at width w is then charged 1/n of the uniform width-w model's time.
 */
import { ValidationError } from '../errors.js';
import type { MatMambaVisionConfig } from '../model/config.js';
import { modelCost } from '../model/cost.js';
import { STANDARD_WIDTHS, resolveWidths, widthLabel } from '../model/nesting.js';

/** One of the jointly trained granularities. */
export type StandardWidth = (typeof STANDARD_WIDTHS)[number];

/** Milliseconds per image of each uniform standard width, measured on this machine. */
export type LatencyTable = Readonly<Partial<Record<StandardWidth, number>>>;

/** MACs per image (a bare number means MACs), or a latency with the table it refers to. */
export type Budget =
  number | { readonly macs: number } | { readonly ms: number; readonly table: LatencyTable };

export interface MixChoice {
  /** Width of each layer, as fractions ("1/8", ..., "1/4"), narrow first. */
  readonly widths: readonly string[];
  /** Active dim of each layer. */
  readonly layerDims: readonly number[];
  /** Canonical label ("1/8x3,1/4x3"), accepted wherever a width spec is. */
  readonly label: string;
  /** Cost of the choice in the budget's unit (MACs or ms per image). */
  readonly cost: number;
  readonly unit: 'macs' | 'ms';
}

/** The standard widths this config supports, narrowest first. */
function granularities(cfg: MatMambaVisionConfig): StandardWidth[] {
  const ok = STANDARD_WIDTHS.filter((w) => {
    try {
      resolveWidths(cfg, w);
      return true;
    } catch {
      return false;
    }
  });
  return ok.sort((a, b) => resolveWidths(cfg, a)[0]! - resolveWidths(cfg, b)[0]!);
}

/** Cost of "nNarrow layers at `narrow`, then the rest at `wide`" in the budget's unit. */
function costFn(cfg: MatMambaVisionConfig, budget: Budget) {
  const n = cfg.nLayer;
  if (typeof budget === 'number' || 'macs' in budget) {
    return (narrow: StandardWidth, wide: StandardWidth, nNarrow: number) =>
      modelCost(cfg, layers(narrow, wide, nNarrow, n)).macs;
  }
  const gs = granularities(cfg);
  const t = (w: StandardWidth) => {
    const v = budget.table[w];
    if (v === undefined || !(v > 0)) {
      throw new ValidationError(`the latency table has no positive time for width ${w}`);
    }
    return v;
  };
  for (let i = 1; i < gs.length; i++) {
    if (!(t(gs[i]!) > t(gs[i - 1]!))) {
      throw new ValidationError(
        `the latency table must grow with width, but ${gs[i]} (${t(gs[i]!)} ms) is not slower ` +
          `than ${gs[i - 1]} (${t(gs[i - 1]!)} ms); measure again with more repetitions`,
      );
    }
  }
  return (narrow: StandardWidth, wide: StandardWidth, nNarrow: number) => {
    // (k/n)·t + ((n-k)/n)·t' is exactly t when k = n: a standard width costs what was measured.
    if (nNarrow === n) return t(narrow);
    if (nNarrow === 0) return t(wide);
    return (nNarrow / n) * t(narrow) + ((n - nNarrow) / n) * t(wide);
  };
}

function layers(narrow: string, wide: string, nNarrow: number, n: number): string[] {
  return [...Array<string>(nNarrow).fill(narrow), ...Array<string>(n - nNarrow).fill(wide)];
}

/** The per-layer widths with the most compute within `budget` (see the file comment). */
export function widthsForBudget(cfg: MatMambaVisionConfig, budget: Budget): MixChoice {
  const limit = typeof budget === 'number' ? budget : 'macs' in budget ? budget.macs : budget.ms;
  const unit = typeof budget === 'number' || 'macs' in budget ? 'macs' : 'ms';
  if (!Number.isFinite(limit)) throw new ValidationError(`budget must be a finite number`);
  const gs = granularities(cfg);
  if (gs.length === 0) throw new ValidationError('no standard width is valid for this config');
  const n = cfg.nLayer;
  const cost = costFn(cfg, budget);
  const uniform = (w: StandardWidth) => cost(w, w, n);
  const choice = (narrow: StandardWidth, wide: StandardWidth, nNarrow: number): MixChoice => {
    const widths = layers(narrow, wide, nNarrow, n);
    const layerDims = resolveWidths(cfg, widths);
    return {
      widths,
      layerDims,
      label: widthLabel(cfg, layerDims),
      cost: cost(narrow, wide, nNarrow),
      unit,
    };
  };
  const cheapest = uniform(gs[0]!);
  if (limit < cheapest) {
    throw new ValidationError(
      `budget ${limit} ${unit} per image is below the narrowest submodel ` +
        `(width ${gs[0]}: ${cheapest} ${unit})`,
    );
  }
  // The widest granularity whose uniform model fits, then as many layers one step wider as fit.
  let j = 0;
  while (j + 1 < gs.length && uniform(gs[j + 1]!) <= limit) j++;
  const narrow = gs[j]!;
  if (j + 1 === gs.length) return choice(narrow, narrow, n);
  const wide = gs[j + 1]!;
  let nNarrow = n;
  while (nNarrow > 0 && cost(narrow, wide, nNarrow - 1) <= limit) nNarrow--;
  return choice(narrow, wide, nNarrow);
}
