/**
 * Patch embedding of NHWC images as ONNX nodes, shared by the MatMamba-Vision and ViT exports:
 * a stride-p p×p conv written as patchify + one MatMul, the weight reordered so each patch is read
 * in its natural NHWC (py, px, c) order.
 */
import type { GraphBuilder } from './onnx-graph.js';

/** Conv weight [D, C, p, p] (PyTorch layout) -> [(py, px, C), D]. */
export function patchWeight(w: Float32Array, D: number, C: number, p: number): Float32Array {
  const out = new Float32Array(p * p * C * D);
  for (let d = 0; d < D; d++)
    for (let c = 0; c < C; c++)
      for (let py = 0; py < p; py++)
        for (let px = 0; px < p; px++)
          out[((py * p + px) * C + c) * D + d] = w[((d * C + c) * p + py) * p + px]!;
  return out;
}

/** images [B, S, S, C] -> patch tokens [B, (S/p)², D], row-major over the grid, no bias. */
export function patchTokens(
  g: GraphBuilder,
  images: string,
  sizes: { S: number; p: number; C: number; D: number },
  convWeight: Float32Array,
): string {
  const { S, p, C, D } = sizes;
  const grid = S / p;
  const patches = g.op('Reshape', [
    g.op('Transpose', [g.op('Reshape', [images, g.ints([-1, grid, p, grid, p, C])])], {
      perm: { ints: [0, 1, 3, 2, 4, 5] },
    }), // [B, g, g, p, p, C]
    g.ints([-1, grid * grid, p * p * C]),
  ]); // [B, T, p·p·C]
  return g.op('MatMul', [
    patches,
    g.weight('patch_embed', patchWeight(convWeight, D, C, p), [p * p * C, D]),
  ]); // [B, T, D]
}
