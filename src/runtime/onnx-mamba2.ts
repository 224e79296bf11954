/**
 * One Mamba2 mixer as ONNX nodes, at whatever inner width its (already sliced) weights have;
 * the ONNX twin of src/model/mamba2.ts.
 *
 *   u ─ x·W_zᵀ ────────────────────────────────────────────── z ─┐
 *     ─ x·W_xᵀ  ─ causal dwconv ─ SiLU ─ x ─┐                   │ gate silu(z)
 *     ─ x·W_BCᵀ ─ causal dwconv ─ SiLU ─ B, C ─ SSD ─ + D·x ─ RMSNorm ─ ·(diag(w) W_out)ᵀ
 *     ─ x·W_dtᵀ ─ softplus(· + dt_bias) ─ dt ─┘
 *
 * Projections are separate MatMuls per part (no Split copies). The depthwise conv is ORT's
 * grouped Conv between two transposes: measured 2x faster than K shifted multiply-adds on the
 * channels-last tensor (26 vs 53 ms for [32, 198, 1024], K = 4). The gated norm's weight is folded into the
 * rows of out_proj: (g·r·w)·Woutᵀ = (g·r)·(diag(w) Woutᵀ), equal up to float rounding.
 */
import type { GraphBuilder } from './onnx-graph.js';
import { linear, quantizeRows, type Precision } from './quantize.js';
import { ssdGraph } from './onnx-ssd.js';

/** A mixer's weights at one width, PyTorch layouts (see src/model/mamba2.ts MixerWeights). */
export interface MixerArrays {
  /** [2e + 2N + h, D], rows [z, x, B, C, dt]. */
  readonly inProj: Float32Array;
  /** [e + 2N, 1, K], channels [x, B, C]. */
  readonly convWeight: Float32Array;
  /** [e + 2N]. */
  readonly convBias: Float32Array;
  /** [h] each. */
  readonly dtBias: Float32Array;
  readonly ALog: Float32Array;
  readonly D: Float32Array;
  /** [e]. */
  readonly normWeight: Float32Array;
  /** [D, e]. */
  readonly outProj: Float32Array;
}

export interface MixerGraphSizes {
  readonly dModel: number; // D
  readonly inner: number; // e
  readonly headDim: number; // P
  readonly dState: number; // N
  readonly dConv: number; // K
  readonly seqLen: number; // L
  readonly chunk: number;
  readonly eps: number;
  /** Precision of in_proj and out_proj (quantize.ts); default fp32. */
  readonly precision?: Precision;
}

/** Rows [start, start+n) of a row-major [rows, cols] matrix, transposed to [cols, n]. */
function rowsTransposed(w: Float32Array, cols: number, start: number, n: number): Float32Array {
  const out = new Float32Array(cols * n);
  for (let r = 0; r < n; r++) {
    const src = (start + r) * cols;
    for (let c = 0; c < cols; c++) out[c * n + r] = w[src + c]!;
  }
  return out;
}

/** Causal depthwise conv + SiLU over channels [start, start+n) of the conv weights. */
function convSilu(
  g: GraphBuilder,
  t: string,
  w: MixerArrays,
  s: MixerGraphSizes,
  start: number,
  n: number,
): string {
  const K = s.dConv;
  const conv = g.op(
    'Conv',
    [
      g.op('Transpose', [t], { perm: { ints: [0, 2, 1] } }), // [B, n, L]
      g.weight('conv_w', w.convWeight.slice(start * K, (start + n) * K), [n, 1, K]),
      g.weight('conv_b', w.convBias.slice(start, start + n), [n]),
    ],
    { group: { i: n }, kernel_shape: { ints: [K] }, pads: { ints: [K - 1, 0] } },
  ); // [B, n, L], causal: K-1 zeros before the start, none after
  const out = g.op('Transpose', [conv], { perm: { ints: [0, 2, 1] } }); // [B, L, n]
  return g.op('Mul', [out, g.op('Sigmoid', [out])]); // SiLU
}

/** u: [B, L, D] (already layer-normed) -> mixer output [B, L, D]. */
export function mamba2Graph(g: GraphBuilder, u: string, w: MixerArrays, s: MixerGraphSizes) {
  const D = s.dModel;
  const e = s.inner;
  const N = s.dState;
  const P = s.headDim;
  const h = e / P;
  const precision = s.precision ?? 'fp32';
  const uq = precision === 'int8' ? quantizeRows(g, u) : undefined; // shared by the 4 parts
  const proj = (start: number, n: number) =>
    linear(g, u, 'in_proj', rowsTransposed(w.inProj, D, start, n), [D, n], precision, uq); // [B, L, n]
  const z = proj(0, e); // [B, L, e]
  const x = convSilu(g, proj(e, e), w, s, 0, e); // [B, L, e]
  const BC = convSilu(g, proj(2 * e, 2 * N), w, s, e, 2 * N); // [B, L, 2N]
  const [Bm, Cm] = g.opN('Split', [BC, g.ints([N, N])], { axis: { i: 2 } }, 2); // [B, L, N] each
  const dt = g.op('Softplus', [
    g.op('Add', [proj(2 * e + 2 * N, h), g.weight('dt_bias', w.dtBias, [h])]),
  ]); // [B, L, h]
  const A = g.weight(
    'A',
    w.ALog.map((v) => -Math.exp(v)),
    [h],
  );
  const y = ssdGraph(g, { L: s.seqLen, H: h, P, N, chunk: s.chunk }, x, dt, A, Bm!, Cm!); // [B, L, e]
  const Dvec = new Float32Array(e);
  for (let i = 0; i < e; i++) Dvec[i] = w.D[Math.floor(i / P)]!;
  const ySkip = g.op('Add', [y, g.op('Mul', [x, g.weight('D', Dvec, [e])])]); // + D·x per head
  const gated = g.op('Mul', [
    ySkip,
    g.op('Mul', [z, g.op('Sigmoid', [z])]), // silu(z)
  ]); // [B, L, e]
  const ms = g.op('ReduceMean', [g.op('Mul', [gated, gated])], {
    axes: { ints: [-1] },
    keepdims: { i: 1 },
  }); // [B, L, 1]
  const normed = g.op('Mul', [
    gated,
    g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(s.eps)])])]),
  ]); // [B, L, e]
  const outT = rowsTransposed(w.outProj, e, 0, D); // [e, D]
  for (let i = 0; i < e; i++) {
    const wi = w.normWeight[i]!;
    for (let j = 0; j < D; j++) outT[i * D + j] = outT[i * D + j]! * wi;
  }
  return linear(g, normed, 'out_proj', outT, [e, D], precision); // [B, L, D]
}
