/**
 * ViT -> ONNX, built the same way as the MatMamba-Vision export (same patch embedding, same
 * builder, dynamic batch), as the baseline of the encoder benchmark.
 *
 *   images ─ patch embed ─ prepend CLS ─ + pos_embed ─ [B, T+1, D]
 *     ─ n_layer × ( x + Attn(LN1(x));  x + MLP(LN2(x)) ) ─ LN ─ CLS row = features [B, D]
 *
 * Attention is the textbook product softmax(q·kᵀ/√d)·v per head with the scale folded into W_q;
 * the MLP's GELU is the erf form (ORT fuses it into one kernel).
 */
import { ValidationError } from '../errors.js';
import { ONNX_EMBEDDING, ONNX_FEATURES, ONNX_INPUT, type OnnxExport } from './export-matmamba.js';
import { GraphBuilder } from './onnx-graph.js';
import { patchTokens } from './onnx-patch.js';
import { interpolatePosEmbed } from './pos-embed.js';
import { vitBlockKey, vitParamShapes, type VitConfig } from './vit.js';

/** W [out, in] (+ rows [start, start+n)) transposed to [in, n], times `scale`. */
function transposed(w: Float32Array, inDim: number, start: number, n: number, scale = 1) {
  const out = new Float32Array(inDim * n);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < inDim; c++) out[c * n + r] = w[(start + r) * inDim + c]! * scale;
  return out;
}

/** Exports a ViT with the given weights at side `imageSize` (positions interpolated). */
export function exportVit(
  cfg: VitConfig,
  weights: ReadonlyMap<string, Float32Array>,
  imageSize = cfg.imageSize,
): OnnxExport {
  const S = imageSize;
  if (!Number.isInteger(S) || S <= 0 || S % cfg.patchSize !== 0) {
    throw new ValidationError(`imageSize ${S} is not a positive multiple of ${cfg.patchSize}`);
  }
  for (const [name, shape] of vitParamShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (weights.get(name)?.length !== n) {
      throw new ValidationError(`ViT weight '${name}' missing or not of shape [${shape}]`);
    }
  }
  const w = (name: string) => weights.get(name)!;
  const D = cfg.dModel;
  const H = cfg.nHeads;
  const dh = D / H;
  const M = cfg.mlpRatio * D;
  const grid = S / cfg.patchSize;
  const T = grid * grid;
  const L = T + 1;
  const g = new GraphBuilder('vit');
  const images = g.input(ONNX_INPUT, ['batch', S, S, cfg.inChans]);
  const tokens = patchTokens(
    g,
    images,
    { S, p: cfg.patchSize, C: cfg.inChans, D },
    w('patch_embed.proj.weight'),
  ); // [B, T, D]
  // Row 0: CLS + its position (the padded row is zero); rows 1..T: position + patch bias.
  const pos = interpolatePosEmbed(w('pos_embed'), D, cfg.imageSize / cfg.patchSize, grid, 'prefix');
  for (let d = 0; d < D; d++) pos[d]! += w('cls_token')[d]!;
  for (let t = 1; t < L; t++)
    for (let d = 0; d < D; d++) pos[t * D + d]! += w('patch_embed.proj.bias')[d]!;
  let x = g.op('Add', [
    g.op('Pad', [tokens, g.ints([0, 1, 0, 0, 0, 0])], { mode: { s: 'constant' } }),
    g.weight('pos_embed', pos, [1, L, D]),
  ]); // [B, L, D]

  const ln = (t: string, name: string) =>
    g.op(
      'LayerNormalization',
      [t, g.weight('ln_w', w(`${name}.weight`), [D]), g.weight('ln_b', w(`${name}.bias`), [D])],
      {
        axis: { i: -1 },
        epsilon: { f: cfg.normEps },
      },
    );
  const linear = (t: string, W: Float32Array, b: Float32Array, inDim: number, n: number) =>
    g.op('Add', [g.op('MatMul', [t, g.weight('w', W, [inDim, n])]), g.weight('b', b, [n])]);

  for (let i = 0; i < cfg.nLayer; i++) {
    const k = (s: string) => vitBlockKey(i, s);
    const h = ln(x, k('norm1')); // [B, L, D]
    const qkvW = w(k('attn.qkv.weight'));
    const qkvB = w(k('attn.qkv.bias'));
    const scale = 1 / Math.sqrt(dh);
    const heads = (part: number, perm: number[], s = 1) =>
      g.op(
        'Transpose',
        [
          g.op('Reshape', [
            linear(
              h,
              transposed(qkvW, D, part * D, D, s),
              qkvB.slice(part * D, (part + 1) * D).map((v) => v * s),
              D,
              D,
            ),
            g.ints([-1, L, H, dh]),
          ]),
        ],
        { perm: { ints: perm } },
      );
    const q = heads(0, [0, 2, 1, 3], scale); // [B, H, L, dh], pre-scaled
    const kT = heads(1, [0, 2, 3, 1]); // [B, H, dh, L]
    const v = heads(2, [0, 2, 1, 3]); // [B, H, L, dh]
    const attn = g.op('Softmax', [g.op('MatMul', [q, kT])], { axis: { i: -1 } }); // [B, H, L, L]
    const ctx = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [attn, v])], { perm: { ints: [0, 2, 1, 3] } }),
      g.ints([-1, L, D]),
    ]); // [B, L, D]
    x = g.op('Add', [
      x,
      linear(ctx, transposed(w(k('attn.proj.weight')), D, 0, D), w(k('attn.proj.bias')), D, D),
    ]);
    const m = linear(
      ln(x, k('norm2')),
      transposed(w(k('mlp.fc1.weight')), D, 0, M),
      w(k('mlp.fc1.bias')),
      D,
      M,
    ); // [B, L, M]
    const gelu = g.op('Mul', [
      g.op('Mul', [
        m,
        g.op('Add', [g.op('Erf', [g.op('Div', [m, g.scalar(Math.SQRT2)])]), g.scalar(1)]),
      ]),
      g.scalar(0.5),
    ]); // x·Φ(x)
    x = g.op('Add', [
      x,
      linear(gelu, transposed(w(k('mlp.fc2.weight')), M, 0, D), w(k('mlp.fc2.bias')), M, D),
    ]);
  }
  const cls = g.op('Reshape', [
    g.op('Slice', [x, g.ints([0]), g.ints([1]), g.ints([1])]),
    g.ints([-1, D]),
  ]); // [B, D]
  const features = ln(cls, 'norm');
  const norm = g.op('Max', [
    g.op('ReduceL2', [features], { axes: { ints: [-1] }, keepdims: { i: 1 } }),
    g.scalar(1e-12),
  ]);
  g.output(features, ['batch', D], ONNX_FEATURES);
  g.output(g.op('Div', [features, norm]), ['batch', D], ONNX_EMBEDDING);
  return {
    bytes: g.toBytes(`ViT d_model ${D}, ${cfg.nLayer} layers, ${H} heads`),
    layerDims: Array<number>(cfg.nLayer).fill(D),
    widthLabel: '1',
    precision: 'fp32',
    imageSize: S,
    inChans: cfg.inChans,
    chunkSize: 0,
    dModel: D,
    nClasses: 0, // features only: the baseline is compared on speed, never classifies
  };
}
