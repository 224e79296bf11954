/**
 * int8 matrix multiplications for the exported graphs: `x [.., K] · W [K, N]` with W quantized
 * symmetrically per output column (scale = max |column| / 127) and x quantized per row (per
 * token) at run time, so every image's result is independent of its batch. CPU ops of ONNX
 * opset 17 that onnxruntime runs: the product is MatMulInteger (int32 out) of uint8 activations
 * (zero point 128, the symmetric int8 value shifted) by int8 weights, the pairing onnxruntime's
 * CPU GEMM has fast kernels for (int8 x int8 measured 3-4x slower than fp32).
 *
 *   x ─ |x| ─ ReduceMax(-1) / 127 = s_x [.., 1]
 *   q_x = Cast<uint8>(Clip(Round(x / s_x), -127, 127) + 128)
 *   y = Cast<float>(MatMulInteger(q_x, q_W, 128)) · s_x · s_W      // [.., N]
 */
import type { GraphBuilder } from './onnx-graph.js';

/** Numeric precision of an exported graph's weight matrix multiplications. */
export type Precision = 'fp32' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'int8'];

/** A row-major [K, N] matrix quantized per column: q [K, N] and scale [N] (W ≈ q · scale). */
export interface QuantizedMatrix {
  readonly q: Int8Array;
  readonly scale: Float32Array;
}

/** Symmetric per-column int8 quantization of a row-major [K, N] matrix. */
export function quantizePerColumn(W: Float32Array, K: number, N: number): QuantizedMatrix {
  const scale = new Float32Array(N);
  for (let k = 0; k < K; k++)
    for (let n = 0; n < N; n++) scale[n] = Math.max(scale[n]!, Math.abs(W[k * N + n]!));
  for (let n = 0; n < N; n++) scale[n] = scale[n]! > 0 ? scale[n]! / 127 : 1; // an all-zero column
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++)
    for (let n = 0; n < N; n++)
      q[k * N + n] = Math.max(-127, Math.min(127, Math.round(W[k * N + n]! / scale[n]!)));
  return { q, scale };
}

/** Rows of an activation quantized at run time: q [.., K] uint8 (zero point 128), scale [.., 1]. */
export interface QuantizedRows {
  readonly q: string;
  readonly scale: string;
}

/** Quantizes each row (token) of x [.., K] to int8 with its own scale. */
export function quantizeRows(g: GraphBuilder, x: string): QuantizedRows {
  const rowMax = g.op('ReduceMax', [g.op('Abs', [x])], {
    axes: { ints: [-1] },
    keepdims: { i: 1 },
  }); // [.., 1]
  const scale = g.op('Max', [g.op('Div', [rowMax, g.scalar(127)]), g.scalar(1e-30)]); // [.., 1]
  const clipped = g.op('Clip', [
    g.op('Round', [g.op('Div', [x, scale])]),
    g.scalar(-127),
    g.scalar(127),
  ]); // [.., K]
  const q = g.op('Cast', [g.op('Add', [clipped, g.scalar(128)])], { to: { i: 2 } }); // UINT8
  return { q, scale };
}

/**
 * `x [.., K] · W [K, N]` (W row-major) at `precision`; returns [.., N]. For int8, `rows` reuses
 * x's quantization when several matrices multiply the same x.
 */
export function linear(
  g: GraphBuilder,
  x: string,
  hint: string,
  W: Float32Array,
  dims: readonly [number, number],
  precision: Precision,
  rows?: QuantizedRows,
): string {
  const [K, N] = dims;
  if (precision === 'fp32') return g.op('MatMul', [x, g.weight(hint, W, [K, N])]); // [.., N]
  const { q, scale } = quantizePerColumn(W, K, N);
  const qx = rows ?? quantizeRows(g, x);
  const acc = g.op('MatMulInteger', [
    qx.q,
    g.byteWeight(`${hint}_q`, q, [K, N]),
    g.byteWeight('zero_point', Uint8Array.of(128), []),
  ]); // [.., N] int32
  const y = g.op('Cast', [acc], { to: { i: 1 } }); // FLOAT
  return g.op('Mul', [g.op('Mul', [y, qx.scale]), g.weight(`${hint}_scale`, scale, [N])]); // [.., N]
}
