/**
 * The tfjs reference encoder behind the Embedder interface: in-process, used when the fast
 * runtime is unavailable and by tests that need an encoder without worker threads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../model/backend.js';
import { unitRows } from '../model/layers.js';
import { widthRank, type WidthSpec } from '../model/nesting.js';
import type { MatMambaVision } from '../model/vision.js';
import { DEFAULT_PREPROCESS, type PreprocessSpec } from '../model/preprocess-spec.js';
import { NoHeadError } from '../errors.js';
import { classLabels } from '../model/class-labels.js';
import type { Embedder } from './embedder.js';

export class TfjsEmbedder implements Embedder {
  readonly dim: number;
  readonly inputSize: number;
  readonly inputChannels: number;
  readonly nClasses: number;

  private constructor(
    private readonly model: MatMambaVision,
    readonly modelId: string,
    readonly preprocess: PreprocessSpec,
    readonly classLabels: readonly string[] | null,
  ) {
    this.dim = model.config.dModel;
    this.inputSize = model.config.imageSize;
    this.inputChannels = model.config.inChans;
    this.nClasses = model.config.nClasses;
  }

  /** `labels`: the class names (default: from model/class-labels.ts's rule for a bare config). */
  static async create(
    model: MatMambaVision,
    modelId: string,
    preprocess: PreprocessSpec = DEFAULT_PREPROCESS,
    labels: readonly string[] | null = classLabels({}, model.config.nClasses),
  ): Promise<TfjsEmbedder> {
    await initBackend({ purpose: 'inference' });
    return new TfjsEmbedder(model, modelId, preprocess, labels);
  }

  widthLabel(width: WidthSpec): string {
    return this.model.widthLabel(width);
  }

  widthRank(width: WidthSpec): number {
    return widthRank(this.model.config, width);
  }

  async embed(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]> {
    return this.rows(inputs, this.dim, (x) => {
      return unitRows(this.model.embed(x, width));
    });
  }

  async classify(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]> {
    if (this.nClasses === 0)
      throw new NoHeadError(
        'this model has no classification head (nClasses is 0): it can embed, not classify',
      );
    return this.rows(inputs, this.nClasses, (x) => {
      const { features, logits } = this.model.forward(x, width);
      features.dispose();
      return logits!;
    });
  }

  /** `f` over the inputs in batches of 32; one `width`-long row per input. */
  private rows(
    inputs: readonly Float32Array[],
    width: number,
    f: (x: tf.Tensor4D) => tf.Tensor,
  ): Float32Array[] {
    const S = this.inputSize;
    const C = this.inputChannels;
    const per = S * S * C;
    const out: Float32Array[] = [];
    for (let s = 0; s < inputs.length; s += 32) {
      const chunk = inputs.slice(s, s + 32);
      const buf = new Float32Array(chunk.length * per);
      chunk.forEach((x, i) => buf.set(x, i * per));
      const y = tf.tidy(() => f(tf.tensor4d(buf, [chunk.length, S, S, C])));
      const data = y.dataSync() as Float32Array;
      y.dispose();
      for (let i = 0; i < chunk.length; i++) out.push(data.slice(i * width, (i + 1) * width));
    }
    return out;
  }

  async close(): Promise<void> {
    this.model.dispose();
  }
}
