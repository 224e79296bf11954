/**
 * MatMamba-Vision (Shukla et al. 2024, arXiv 2410.06718): a ViT-like isotropic stack of nested
 * Mamba2 blocks over image patches.
 *
 *   image [B, S, S, C] ─ patch embed (conv p×p, stride p) ─ [B, T, D]
 *     ─ append CLS as a *suffix* (the scan is causal and row-major, so only the last token
 *       has seen the whole image) ─ + learned pos_embed ─ [B, T+1, D]
 *     ─ n_layer × ( x + Mamba2_w(LayerNorm(x)) )   (w: this layer's nested width)
 *     ─ LayerNorm ─ last token (pool 'cls') or mean of the patch tokens (pool 'avg')
 *     = features [B, D] ─ head = logits [B, n_classes]
 *     (embedding: features, or whiten.weight · unit(features) + whiten.bias where the config
 *     has a learned whitening; the embedder scales it to unit length; a config with `views`
 *     first pools unit features over turned and mirrored copies, views.ts)
 *
 * Images are NHWC float32, already normalised. Weights are held as tfjs variables under the
 * official state_dict names (params.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { NotOpenError, ShapeError, ValidationError } from '../errors.js';
import type { MatMambaVisionConfig } from './config.js';
import { dims } from './config.js';
import { layerNorm, linear, unitRows } from './layers.js';
import { mamba2Forward, type MixerWeights } from './mamba2.js';
import { resolveWidths, sliceMixer, widthLabel, type WidthSpec } from './nesting.js';
import { adapterFor, initParams, layerKey, mixerKey, paramShapes } from './params.js';
import { GREY_BIAS, GREY_WEIGHT, viewList, viewWeights, type View } from './views.js';

export interface ForwardResult {
  /** Pooled features [B, D] (CLS suffix, or patch mean, after the final norm), not normalised. */
  readonly features: tf.Tensor2D;
  /** Classifier logits [B, n_classes], or null for a model without head. */
  readonly logits: tf.Tensor2D | null;
}

export class MatMambaVision {
  readonly config: MatMambaVisionConfig;
  private vars: Map<string, tf.Variable> | null;

  private constructor(config: MatMambaVisionConfig, vars: Map<string, tf.Variable>) {
    this.config = config;
    this.vars = vars;
  }

  /** A randomly initialised model (official init, seeded). */
  static create(config: MatMambaVisionConfig, seed = 0): MatMambaVision {
    return MatMambaVision.fromArrays(config, initParams(config, seed));
  }

  /** A model from named float32 arrays; every expected tensor must be present with its shape. */
  static fromArrays(
    config: MatMambaVisionConfig,
    arrays: ReadonlyMap<string, Float32Array>,
  ): MatMambaVision {
    const vars = new Map<string, tf.Variable>();
    for (const [name, shape] of paramShapes(config)) {
      const a = arrays.get(name);
      if (!a) throw new ShapeError(`missing tensor '${name}' (expected shape [${shape}])`);
      const n = shape.reduce((x, y) => x * y, 1);
      if (a.length !== n) {
        throw new ShapeError(`tensor '${name}' has ${a.length} values, expected [${shape}] = ${n}`);
      }
      vars.set(name, tf.variable(tf.tensor(a, shape), true));
    }
    return new MatMambaVision(config, vars);
  }

  /** The model's variables by official name (for optimisers and saving). */
  get params(): ReadonlyMap<string, tf.Variable> {
    if (!this.vars) throw new NotOpenError('this model was disposed');
    return this.vars;
  }

  private p<T extends tf.Tensor>(name: string): T {
    const v = this.params.get(name);
    if (!v) throw new ShapeError(`model has no parameter '${name}'`);
    return v as unknown as T;
  }

  /** Full-width mixer weights of layer i. */
  mixerWeights(i: number): MixerWeights {
    return {
      inProj: this.p(mixerKey(i, 'in_proj.weight')),
      convWeight: this.p(mixerKey(i, 'conv1d.weight')),
      convBias: this.p(mixerKey(i, 'conv1d.bias')),
      dtBias: this.p(mixerKey(i, 'dt_bias')),
      ALog: this.p(mixerKey(i, 'A_log')),
      D: this.p(mixerKey(i, 'D')),
      normWeight: this.p(mixerKey(i, 'norm.weight')),
      outProj: this.p(mixerKey(i, 'out_proj.weight')),
    };
  }

  /** Canonical label of a width spec for this model ("1/4", "1/8x10,1/4x10"). */
  widthLabel(widths: WidthSpec = 1): string {
    return widthLabel(this.config, resolveWidths(this.config, widths));
  }

  /**
   * Forward pass at a width (one fraction for all layers, or one per layer).
   * images: [B, S, S, C] with S = imageSize, C = inChans.
   */
  forward(images: tf.Tensor4D, widths: WidthSpec = 1): ForwardResult {
    const cfg = this.config;
    if (!this.vars) throw new NotOpenError('this model was disposed');
    if (images.isDisposed) throw new ValidationError('the images tensor was already disposed');
    const layerDims = resolveWidths(cfg, widths); // validates before any work
    const [B, Hh, Ww, C] = images.shape;
    if (Hh !== cfg.imageSize || Ww !== cfg.imageSize || C !== cfg.inChans) {
      throw new ShapeError(
        `images must be [B, ${cfg.imageSize}, ${cfg.imageSize}, ${cfg.inChans}], got [${images.shape}]`,
      );
    }
    const { gridSize: g, nPatches: T } = dims(cfg);
    const p = cfg.patchSize;
    const D = cfg.dModel;
    const mixerOpts = {
      dState: cfg.dState,
      headDim: cfg.headDim,
      chunkSize: cfg.chunkSize,
      normEps: cfg.normEps,
    };
    const [features, logits] = tf.tidy(() => {
      // Patch embedding as patchify + one matmul (same numbers as a p×p stride-p conv).
      const patches = tf.reshape(
        tf.transpose(tf.reshape(images, [B, g, p, g, p, C]), [0, 1, 3, 5, 2, 4]), // [B, g, g, C, p, p]
        [B, T, C * p * p],
      ); // [B, T, C·p·p], ordered like the conv weight's (C, p, p)
      const wPatch = tf.reshape(this.p('patch_embed.proj.weight'), [D, C * p * p]) as tf.Tensor2D;
      const tokens = linear(patches, wPatch, this.p<tf.Tensor1D>('patch_embed.proj.bias')); // [B, T, D]
      const cls = tf.tile(this.p<tf.Tensor3D>('cls_token'), [B, 1, 1]); // [B, 1, D]
      let h = tf.add(tf.concat([tokens, cls], 1), this.p('pos_embed')) as tf.Tensor3D; // [B, T+1, D]

      for (let i = 0; i < cfg.nLayer; i++) {
        // A tidy per layer frees its intermediates at once in inference (a 300-image batch
        // otherwise holds every layer's L x L decay masks); under a gradient tape tfjs keeps
        // what backprop needs, so training is unaffected.
        h = tf.tidy(() => {
          const normed = layerNorm(
            h,
            this.p<tf.Tensor1D>(layerKey(i, 'norm.weight')),
            this.p<tf.Tensor1D>(layerKey(i, 'norm.bias')),
            cfg.normEps,
          ) as tf.Tensor3D;
          const w = sliceMixer(this.mixerWeights(i), cfg, layerDims[i]!);
          return tf.add(h, mamba2Forward(normed, w, mixerOpts)); // [B, T+1, D]
        });
      }
      const normF = (x: tf.Tensor) =>
        layerNorm(
          x,
          this.p<tf.Tensor1D>('norm_f.weight'),
          this.p<tf.Tensor1D>('norm_f.bias'),
          cfg.normEps,
        );
      // LayerNorm is per token, so norming only the pooled tokens is exact.
      const features = (
        cfg.pool === 'avg'
          ? tf.mean(normF(tf.slice(h, [0, 0, 0], [B, T, D])), 1) // mean of the patch tokens
          : normF(tf.reshape(tf.slice(h, [0, T, 0], [B, 1, D]), [B, D]))
      ) as tf.Tensor2D; // the CLS suffix
      if (cfg.nClasses === 0) return [features];
      return [features, linear(features, this.p('head.weight'), this.p<tf.Tensor1D>('head.bias'))];
    }) as [tf.Tensor2D, tf.Tensor2D?];
    return { features, logits: logits ?? null };
  }

  /** Features [B, D] at a width. */
  encode(images: tf.Tensor4D, widths: WidthSpec = 1): tf.Tensor2D {
    const { features, logits } = this.forward(images, widths);
    logits?.dispose();
    return features;
  }

  /**
   * The embedding [B, D] before its final L2 normalisation (whitening.ts):
   *   e = features, or mean over views v of unit(features(view_v(image)))   with `views`
   *   e = adapter_w · unit(e)               where the config has an adapter for this width
   *   e = whiten.weight · unit(e) + whiten.bias   where the config has a learned whitening
   */
  embed(images: tf.Tensor4D, widths: WidthSpec = 1): tf.Tensor2D {
    const features = this.config.views
      ? this.pooledFeatures(images, widths)
      : this.encode(images, widths);
    const adapter = adapterFor(this.config, resolveWidths(this.config, widths));
    if (!adapter && !this.config.whiten) return features;
    const out = tf.tidy(() => {
      let e: tf.Tensor = features;
      if (adapter) e = linear(unitRows(e), this.p(adapter));
      if (this.config.whiten)
        e = linear(unitRows(e), this.p('whiten.weight'), this.p<tf.Tensor1D>('whiten.bias'));
      return e;
    });
    features.dispose();
    return out as tf.Tensor2D;
  }

  /**
   * The mean (weighted by `viewWeights`) of the unit features of the config's views (views.ts)
   * [B, D]: the views go through the encoder as one batch, view-major.
   */
  private pooledFeatures(images: tf.Tensor4D, widths: WidthSpec): tf.Tensor2D {
    const views = viewList(this.config);
    const B = images.shape[0];
    const stacked = tf.tidy(() => {
      // The grey map is per pixel, so it commutes with the turns: applied once, then turned.
      const grey = this.config.views?.grey
        ? (linear(images, this.p(GREY_WEIGHT), this.p<tf.Tensor1D>(GREY_BIAS)) as tf.Tensor4D)
        : null;
      return tf.concat(
        views.map((v) => viewImages(v.grey ? grey! : images, v)),
        0,
      );
    }); // [V·B, S, S, C]
    const features = this.encode(stacked, widths); // [V·B, D]
    stacked.dispose();
    const pooled = tf.tidy(() => {
      const unit = tf.reshape(unitRows(features), [views.length, B, this.config.dModel]); // [V, B, D]
      return tf.sum(tf.mul(unit, tf.tensor3d(viewWeights(this.config), [views.length, 1, 1])), 0);
    }) as tf.Tensor2D; // [B, D], the weighted mean of the views' unit features
    features.dispose();
    return pooled;
  }

  /** Copies of all weights as named float32 arrays. */
  toArrays(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.params) out.set(name, v.dataSync() as Float32Array);
    return out;
  }

  /** Frees every variable; the model is unusable afterwards. Idempotent. */
  dispose(): void {
    if (!this.vars) return;
    for (const v of this.vars.values()) v.dispose();
    this.vars = null;
  }
}

/** One view's turns of NHWC images: mirrored (axis 2 reversed), then turned anticlockwise. */
function viewImages(images: tf.Tensor4D, v: View): tf.Tensor4D {
  let x: tf.Tensor4D = v.mirror ? tf.reverse(images, 2) : images;
  // out[i][j] = in[j][S-1-i]: swap rows and columns, then reverse the rows.
  for (let t = 0; t < v.turns; t++) x = tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 1);
  return x;
}
