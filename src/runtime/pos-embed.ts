/**
 * Position embeddings at another resolution: the learned grid of one embedding per patch is
 * resized bilinearly (PyTorch's F.interpolate with align_corners=False), and the CLS position,
 * a suffix for MatMamba-Vision and a prefix for ViT, is kept as it is.
 */
import { ValidationError } from '../errors.js';

/** Where the CLS token's position sits in the [1, T+1, D] table. */
export type ClsPosition = 'prefix' | 'suffix';

/** Source coordinate and weights of one output index, align_corners=False, edges clamped. */
function taps(i: number, from: number, to: number): [number, number, number] {
  const src = Math.max(0, ((i + 0.5) * from) / to - 0.5);
  const i0 = Math.min(Math.floor(src), from - 1);
  const i1 = Math.min(i0 + 1, from - 1);
  return [i0, i1, src - i0];
}

/** Bilinear resize of a row-major [g0·g0, D] grid of vectors to [g1·g1, D]. */
export function resizeGrid(grid: Float32Array, g0: number, g1: number, D: number): Float32Array {
  if (grid.length !== g0 * g0 * D) {
    throw new ValidationError(`grid has ${grid.length} values, expected ${g0}x${g0}x${D}`);
  }
  if (g0 === g1) return grid.slice();
  const out = new Float32Array(g1 * g1 * D);
  for (let y = 0; y < g1; y++) {
    const [y0, y1, fy] = taps(y, g0, g1);
    for (let x = 0; x < g1; x++) {
      const [x0, x1, fx] = taps(x, g0, g1);
      const w00 = (1 - fy) * (1 - fx);
      const w01 = (1 - fy) * fx;
      const w10 = fy * (1 - fx);
      const w11 = fy * fx;
      const [a, b, c, d] = [y0 * g0 + x0, y0 * g0 + x1, y1 * g0 + x0, y1 * g0 + x1].map(
        (t) => t * D,
      ) as [number, number, number, number];
      const o = (y * g1 + x) * D;
      for (let k = 0; k < D; k++) {
        out[o + k] =
          w00 * grid[a + k]! + w01 * grid[b + k]! + w10 * grid[c + k]! + w11 * grid[d + k]!;
      }
    }
  }
  return out;
}

/** A [1, g0² + 1, D] table for a g0×g0 grid -> the [1, g1² + 1, D] table for a g1×g1 grid. */
export function interpolatePosEmbed(
  pos: Float32Array,
  D: number,
  g0: number,
  g1: number,
  cls: ClsPosition,
): Float32Array {
  if (pos.length !== (g0 * g0 + 1) * D) {
    throw new ValidationError(`pos_embed has ${pos.length} values, expected (${g0}²+1)x${D}`);
  }
  const gridStart = cls === 'prefix' ? D : 0;
  const clsStart = cls === 'prefix' ? 0 : g0 * g0 * D;
  const grid = resizeGrid(pos.subarray(gridStart, gridStart + g0 * g0 * D), g0, g1, D);
  const out = new Float32Array((g1 * g1 + 1) * D);
  const clsRow = pos.subarray(clsStart, clsStart + D);
  if (cls === 'prefix') {
    out.set(clsRow, 0);
    out.set(grid, D);
  } else {
    out.set(grid, 0);
    out.set(clsRow, g1 * g1 * D);
  }
  return out;
}
