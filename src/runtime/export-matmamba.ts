/**
 * MatMamba-Vision -> ONNX, built node by node from the config and the weights of a loaded model,
 * at one width or a Mix'n'Match list of per-layer widths; the ONNX twin of src/model/vision.ts.
 *
 *   images [B, S, S, C] ─ patchify ─ ·W_patchᵀ ─ zero rows appended: the CLS slot (a suffix)
 *     and tail padding to whole SSD chunks ─ + (pos_embed + patch bias | cls + pos_embed[T] | 0)
 *     ─ [B, Lp, D] ─ n_layer × ( x + Mamba2_w(LayerNorm(x)) ) ─ token T (CLS) ─ LayerNorm
 *     (pool 'avg': LayerNorm of tokens 0..T-1, then their mean) ─ features [B, D]
 *     ─ / ‖·‖₂ ─ (where the config has them: · adapterᵀ of this width ─ / ‖·‖₂, then
 *     · whiten.weightᵀ + whiten.bias ─ / ‖·‖₂) ─ embedding [B, D]
 *   With `views` (model/views.ts) the turned and mirrored copies of the batch are concatenated
 *   view-major before the patchify, and `features` is the mean of their unit features [B, D].
 *       features ─ · head.weightᵀ + head.bias ─ logits [B, n_classes]   (on request)
 *
 * The weights of a width are cut by nesting.ts's `sliceMixer` (the only place that knows the
 * nesting rule) and copied into the graph, so the file holds only the submodel. The batch is
 * the one dynamic axis. A different `imageSize` interpolates the patch positions (pos-embed.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { NoHeadError, ValidationError } from '../errors.js';
import type { MatMambaVisionConfig } from '../model/config.js';
import { resolveWidths, sliceMixer, widthLabel, type WidthSpec } from '../model/nesting.js';
import { adapterFor, layerKey } from '../model/params.js';
import type { MatMambaVision } from '../model/vision.js';
import { GREY_BIAS, GREY_WEIGHT, viewList, viewWeights, type View } from '../model/views.js';
import { GraphBuilder } from './onnx-graph.js';
import { mamba2Graph, type MixerArrays } from './onnx-mamba2.js';
import { ONNX_EMBEDDING, ONNX_FEATURES, ONNX_INPUT, ONNX_LOGITS } from './onnx-names.js';
import { patchTokens } from './onnx-patch.js';
import { pickChunk } from './pick-chunk.js';
import type { Precision } from './quantize.js';
import { interpolatePosEmbed } from './pos-embed.js';

export { ONNX_EMBEDDING, ONNX_FEATURES, ONNX_INPUT, ONNX_LOGITS } from './onnx-names.js';

export interface MatMambaExportOptions {
  /** One width for every layer, or one per layer (Mix'n'Match). Default 1. */
  readonly widths?: WidthSpec;
  /** Input side in px (a multiple of patchSize). Default: the config's; others interpolate pos_embed. */
  readonly imageSize?: number;
  /**
   * SSD chunk length of the graph, or 'auto' (default): about 64 tokens, single-chunk up to 96.
   * Any chunking computes the same function (the tests hold every choice to the tfjs forward);
   * on ORT's CPU kernels short chunks are faster (pick-chunk.ts).
   */
  readonly chunkSize?: number | 'auto';
  /** Precision of the mixers' weight matrix multiplications (quantize.ts). Default 'fp32'. */
  readonly precision?: Precision;
  /**
   * Also output the classifier's logits (default false): the head (never nested) applied to the
   * features of whatever width ran, as in the official code. Embedding-only graphs leave it out
   * so that search does not pay for it; a model without a head refuses it.
   */
  readonly logits?: boolean;
}

/** A serialised ONNX model and what it computes. */
export interface OnnxExport {
  readonly bytes: Uint8Array;
  /** Active dim of each layer. */
  readonly layerDims: readonly number[];
  /** Canonical width label ("1/4", "1/8x3,1/4x3"). */
  readonly widthLabel: string;
  readonly imageSize: number;
  readonly inChans: number;
  readonly chunkSize: number;
  /** Width of the features. */
  readonly dModel: number;
  /** Precision of the weight matrix multiplications. */
  readonly precision: Precision;
  /** Width of the `logits` output; 0: the graph has none. */
  readonly nClasses: number;
}

function arr(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

function param(model: MatMambaVision, name: string): Float32Array {
  const v = model.params.get(name);
  if (!v) throw new ValidationError(`model has no parameter '${name}'`);
  return arr(v);
}

/** Layer i's mixer weights cut to active dim `dim`, as plain arrays. */
function mixerArrays(model: MatMambaVision, i: number, dim: number): MixerArrays {
  // Tensors out of the tidy (walking a result of plain arrays would visit every element).
  const w = tf.tidy(() => ({ ...sliceMixer(model.mixerWeights(i), model.config, dim) }));
  const out: MixerArrays = {
    inProj: arr(w.inProj),
    convWeight: arr(w.convWeight),
    convBias: arr(w.convBias),
    dtBias: arr(w.dtBias),
    ALog: arr(w.ALog),
    D: arr(w.D),
    normWeight: arr(w.normWeight),
    outProj: arr(w.outProj),
  };
  // Slices are fresh tensors; at full width they are the model's own variables, kept.
  for (const t of Object.values(w)) if (!(t instanceof tf.Variable)) t.dispose();
  return out;
}

/**
 * One view's turns of NHWC images (views.ts): mirrored (columns reversed), then turned
 * anticlockwise (rows and columns swapped, then rows reversed) once per quarter turn.
 */
function viewGraph(g: GraphBuilder, images: string, S: number, v: View): string {
  const reversed = g.ints(Array.from({ length: S }, (_, i) => S - 1 - i));
  let x = images;
  if (v.mirror) x = g.op('Gather', [x, reversed], { axis: { i: 2 } });
  for (let t = 0; t < v.turns; t++)
    x = g.op('Gather', [g.op('Transpose', [x], { perm: { ints: [0, 2, 1, 3] } }), reversed], {
      axis: { i: 1 },
    });
  return x; // [B, S, S, C]
}

/** NHWC patch embedding + positions: tokens [B, Lp, D], the CLS suffix at T, zeros after it. */
function embedGraph(
  g: GraphBuilder,
  images: string,
  cfg: MatMambaVisionConfig,
  S: number,
  Lp: number,
  weights: { patchW: Float32Array; patchB: Float32Array; pos: Float32Array; cls: Float32Array },
): string {
  const p = cfg.patchSize;
  const C = cfg.inChans;
  const D = cfg.dModel;
  const grid = S / p;
  const T = grid * grid;
  const tokens = patchTokens(g, images, { S, p, C, D }, weights.patchW); // [B, T, D]
  const padded = g.op('Pad', [tokens, g.ints([0, 0, 0, 0, Lp - T, 0])], {
    mode: { s: 'constant' },
  }); // [B, Lp, D]
  // Rows < T: position + patch bias; row T: CLS + its position (the padded row is zero); rows
  // after the CLS stay zero (tail padding).
  const table = new Float32Array(Lp * D);
  table.set(weights.pos);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) table[t * D + d]! += weights.patchB[d]!;
  for (let d = 0; d < D; d++) table[T * D + d]! += weights.cls[d]!;
  return g.op('Add', [padded, g.weight('pos_embed', table, [1, Lp, D])]); // [B, Lp, D]
}

/** Exports `model` at a width (or per-layer widths) to an ONNX model with a dynamic batch. */
export function exportMatMamba(
  model: MatMambaVision,
  opts: MatMambaExportOptions = {},
): OnnxExport {
  const steps = buildSteps(model, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The same export, yielding to the event loop after every layer (for servers). */
export async function exportMatMambaAsync(
  model: MatMambaVision,
  opts: MatMambaExportOptions = {},
): Promise<OnnxExport> {
  const steps = buildSteps(model, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The export as steps: one per layer, then serialisation. */
function* buildSteps(
  model: MatMambaVision,
  opts: MatMambaExportOptions,
): Generator<void, OnnxExport, void> {
  const cfg = model.config;
  const layerDims = resolveWidths(cfg, opts.widths ?? 1);
  const S = opts.imageSize ?? cfg.imageSize;
  if (!Number.isInteger(S) || S <= 0 || S % cfg.patchSize !== 0) {
    throw new ValidationError(`imageSize ${S} is not a positive multiple of ${cfg.patchSize}`);
  }
  const D = cfg.dModel;
  const grid = S / cfg.patchSize;
  const L = grid * grid + 1; // patches + CLS
  const chunk = pickChunk(L, opts.chunkSize ?? 'auto');
  // The sequence is padded at its end to whole chunks: every op is causal or per token, so
  // tokens after the CLS suffix never reach it, and no layer has to pad and cut again.
  const Lp = Math.ceil(L / chunk) * chunk;
  const label = widthLabel(cfg, layerDims);
  const precision = opts.precision ?? 'fp32';
  const nClasses = opts.logits ? cfg.nClasses : 0;
  if (opts.logits && nClasses === 0)
    throw new NoHeadError('this model has no classification head (nClasses is 0)');
  const g = new GraphBuilder(`matmamba_vision_${label}`);
  const input = g.input(ONNX_INPUT, ['batch', S, S, cfg.inChans]);
  const views = viewList(cfg);
  const C = cfg.inChans;
  // The grey view's channel map (views.ts), once: per pixel, it commutes with the turns.
  const grey = cfg.views?.grey
    ? g.op('Reshape', [
        g.op(
          'Gemm',
          [
            g.op('Reshape', [input, g.ints([-1, C])]), // [B·S·S, C]
            g.weight('grey_w', param(model, GREY_WEIGHT), [C, C]),
            g.weight('grey_b', param(model, GREY_BIAS), [C]),
          ],
          { transB: { i: 1 } },
        ),
        g.ints([-1, S, S, C]),
      ]) // [B, S, S, C]
    : null;
  // With view pooling the encoder sees every view of the batch at once, view-major (views.ts).
  const images =
    views.length > 1
      ? g.op(
          'Concat',
          views.map((v) => viewGraph(g, v.grey ? grey! : input, S, v)),
          { axis: { i: 0 } },
        ) // [V·B, S, S, C]
      : input;

  let h = embedGraph(g, images, cfg, S, Lp, {
    patchW: param(model, 'patch_embed.proj.weight'),
    patchB: param(model, 'patch_embed.proj.bias'),
    pos: interpolatePosEmbed(
      param(model, 'pos_embed'),
      D,
      cfg.imageSize / cfg.patchSize,
      grid,
      'suffix',
    ),
    cls: param(model, 'cls_token'),
  }); // [B, Lp, D]

  const ln = (x: string, w: string, b: string) =>
    g.op(
      'LayerNormalization',
      [x, g.weight('ln_w', param(model, w), [D]), g.weight('ln_b', param(model, b), [D])],
      { axis: { i: -1 }, epsilon: { f: cfg.normEps } },
    );
  for (let i = 0; i < cfg.nLayer; i++) {
    const dim = layerDims[i]!;
    const normed = ln(h, layerKey(i, 'norm.weight'), layerKey(i, 'norm.bias')); // [B, Lp, D]
    const mixed = mamba2Graph(g, normed, mixerArrays(model, i, dim), {
      dModel: D,
      inner: cfg.expand * dim,
      headDim: cfg.headDim,
      dState: cfg.dState,
      dConv: cfg.dConv,
      seqLen: Lp,
      chunk,
      eps: cfg.normEps,
      precision,
    });
    h = g.op('Add', [h, mixed]); // [B, Lp, D]
    yield;
  }
  let features: string;
  if (cfg.pool === 'avg') {
    // The mean of the normed patch tokens, the CLS suffix and tail padding left out.
    const patches = g.op('Slice', [h, g.ints([0]), g.ints([L - 1]), g.ints([1])]); // [B, T, D]
    features = g.op('ReduceMean', [ln(patches, 'norm_f.weight', 'norm_f.bias')], {
      axes: { ints: [1] },
      keepdims: { i: 0 },
    }); // [B, D]
  } else {
    const last = g.op('Reshape', [
      g.op('Slice', [h, g.ints([L - 1]), g.ints([L]), g.ints([1])]),
      g.ints([-1, D]),
    ]); // [B, D], the CLS suffix
    features = ln(last, 'norm_f.weight', 'norm_f.bias'); // [B, D]
  }
  const unit = (x: string) =>
    g.op('Div', [
      x,
      g.op('Max', [
        g.op('ReduceL2', [x], { axes: { ints: [-1] }, keepdims: { i: 1 } }),
        g.scalar(1e-12),
      ]), // [B, 1]
    ]); // [B, D]
  if (views.length > 1) {
    const byView = g.op('Reshape', [unit(features), g.ints([views.length, -1, D])]); // [V, B, D]
    const weights = Float32Array.from(viewWeights(cfg));
    features = g.op(
      'ReduceSum', // opset 13+: axes as an input
      [g.op('Mul', [byView, g.weight('view_weights', weights, [views.length, 1, 1])]), g.ints([0])],
      { keepdims: { i: 0 } },
    ); // [B, D], the weighted mean of the views' unit features
  }
  // The width adapter, then the learned whitening (model/whitening.ts), each on unit vectors
  // as they were fitted; fp32 at every precision.
  const adapter = adapterFor(cfg, layerDims);
  let embedded = features; // [B, D]
  if (adapter)
    embedded = g.op(
      'Gemm',
      [unit(embedded), g.weight('adapter_w', param(model, adapter), [D, D])],
      {
        transB: { i: 1 },
      },
    );
  if (cfg.whiten)
    embedded = g.op(
      'Gemm',
      [
        unit(embedded),
        g.weight('whiten_w', param(model, 'whiten.weight'), [D, D]),
        g.weight('whiten_b', param(model, 'whiten.bias'), [D]),
      ],
      { transB: { i: 1 } },
    );
  const embedding = unit(embedded);
  g.output(features, ['batch', D], ONNX_FEATURES);
  g.output(embedding, ['batch', D], ONNX_EMBEDDING); // [B, D]
  if (nClasses > 0) {
    const head = g.op(
      'Gemm',
      [
        features,
        g.weight('head_w', param(model, 'head.weight'), [nClasses, D]),
        g.weight('head_b', param(model, 'head.bias'), [nClasses]),
      ],
      { transB: { i: 1 } },
    ); // [B, n_classes]
    g.output(head, ['batch', nClasses], ONNX_LOGITS);
  }
  return {
    bytes: g.toBytes(
      `MatMamba-Vision d_model ${D}, ${cfg.nLayer} layers, widths ${label}, ${precision}`,
    ),
    layerDims,
    widthLabel: label,
    imageSize: S,
    inChans: cfg.inChans,
    chunkSize: chunk,
    dModel: D,
    precision,
    nClasses,
  };
}
