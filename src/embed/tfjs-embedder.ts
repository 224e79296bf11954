/**
 * The tfjs reference encoder behind the Embedder interface: in-process, used when the fast
 * runtime is unavailable and by tests that need an encoder without worker threads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../model/backend.js';
import { widthRank, type WidthSpec } from '../model/nesting.js';
import type { MatMambaVision } from '../model/vision.js';
import { DEFAULT_PREPROCESS, type PreprocessSpec } from '../model/preprocess-spec.js';
import type { Embedder } from './embedder.js';

export class TfjsEmbedder implements Embedder {
  readonly dim: number;
  readonly inputSize: number;
  readonly inputChannels: number;

  private constructor(
    private readonly model: MatMambaVision,
    readonly modelId: string,
    readonly preprocess: PreprocessSpec,
  ) {
    this.dim = model.config.dModel;
    this.inputSize = model.config.imageSize;
    this.inputChannels = model.config.inChans;
  }

  static async create(
    model: MatMambaVision,
    modelId: string,
    preprocess: PreprocessSpec = DEFAULT_PREPROCESS,
  ): Promise<TfjsEmbedder> {
    await initBackend({ purpose: 'inference' });
    return new TfjsEmbedder(model, modelId, preprocess);
  }

  widthLabel(width: WidthSpec): string {
    return this.model.widthLabel(width);
  }

  widthRank(width: WidthSpec): number {
    return widthRank(this.model.config, width);
  }

  async embed(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const S = this.inputSize;
    const C = this.inputChannels;
    const per = S * S * C;
    const out: Float32Array[] = [];
    for (let s = 0; s < inputs.length; s += 32) {
      const chunk = inputs.slice(s, s + 32);
      const buf = new Float32Array(chunk.length * per);
      chunk.forEach((x, i) => buf.set(x, i * per));
      const f = tf.tidy(() => {
        const feats = this.model.encode(tf.tensor4d(buf, [chunk.length, S, S, C]), width);
        return tf.div(feats, tf.maximum(tf.norm(feats, 2, 1, true), 1e-12));
      });
      const data = f.dataSync() as Float32Array;
      f.dispose();
      for (let i = 0; i < chunk.length; i++) out.push(data.slice(i * this.dim, (i + 1) * this.dim));
    }
    return out;
  }

  async close(): Promise<void> {
    this.model.dispose();
  }
}
