/**
 * The fast encoder behind the engine's Embedder interface (src/embed/embedder.ts): what ingest
 * and search use, the tfjs embedder being the fallback.
 */
import type { Embedder } from '../embed/embedder.js';
import { ShapeError } from '../errors.js';
import { initBackend } from '../model/backend.js';
import { resolveWidths, widthLabel, widthRank, type WidthSpec } from '../model/nesting.js';
import type { MatMambaVision } from '../model/vision.js';
import { loadModel } from '../model/weights.js';
import { Encoder, type EncoderOptions } from './encoder.js';

export class OrtEmbedder implements Embedder {
  readonly dim: number;
  readonly inputSize: number;
  readonly inputChannels: number;

  private constructor(
    private readonly model: MatMambaVision,
    private readonly encoder: Encoder,
    readonly modelId: string,
    private readonly owned: boolean,
  ) {
    this.dim = model.config.dModel;
    this.inputSize = model.config.imageSize;
    this.inputChannels = model.config.inChans;
  }

  /** Over a saved model directory (the embedder owns the model). */
  static async load(dir: string, opts: EncoderOptions = {}): Promise<OrtEmbedder> {
    await initBackend({ purpose: 'inference' });
    const { model, modelId } = loadModel(dir);
    return new OrtEmbedder(model, await Encoder.open(model, opts), modelId, true);
  }

  /** Over a model the caller keeps. */
  static async open(
    model: MatMambaVision,
    modelId: string,
    opts: EncoderOptions = {},
  ): Promise<OrtEmbedder> {
    return new OrtEmbedder(model, await Encoder.open(model, opts), modelId, false);
  }

  /** The encoder's execution provider ('cpu' or 'cuda'). */
  get provider(): string {
    return this.encoder.provider;
  }

  widthLabel(width: WidthSpec): string {
    return widthLabel(this.model.config, resolveWidths(this.model.config, width));
  }

  widthRank(width: WidthSpec): number {
    return widthRank(this.model.config, width);
  }

  async embed(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const per = this.inputSize * this.inputSize * this.inputChannels;
    const batch = new Float32Array(inputs.length * per);
    inputs.forEach((x, i) => {
      if (x.length !== per) {
        throw new ShapeError(`input ${i} has ${x.length} values, expected ${per}`);
      }
      batch.set(x, i * per);
    });
    const { embeddings } = await this.encoder.encode(batch, width);
    return inputs.map((_, i) => embeddings.slice(i * this.dim, (i + 1) * this.dim));
  }

  async close(): Promise<void> {
    await this.encoder.close();
    if (this.owned) this.model.dispose();
  }
}
