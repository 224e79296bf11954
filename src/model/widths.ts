/**
 * Width specs and their labels: which active dim each layer runs at. Plain arithmetic on the
 * config (no tfjs), so the inference path parses widths without loading tfjs; nesting.ts, which
 * re-exports all of it, holds the slicing rule itself.
 */
import { ValidationError } from '../errors.js';
import type { MatMambaVisionConfig } from './config.js';

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
