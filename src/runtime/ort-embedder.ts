/**
 * The fast encoder behind the engine's Embedder interface (src/embed/embedder.ts): what ingest
 * and search use, the tfjs embedder being the fallback.
 */
import type { Embedder } from '../embed/embedder.js';
import { ShapeError } from '../errors.js';
import type { MatMambaVisionConfig } from '../model/config.js';
import { classLabels, readClassLabels } from '../model/class-labels.js';
import { readModelDir } from '../model/model-dir.js';
import { DEFAULT_PREPROCESS, type PreprocessSpec } from '../model/preprocess-spec.js';
import { resolveWidths, widthLabel, widthRank, type WidthSpec } from '../model/widths.js';
import type { MatMambaVision } from '../model/vision.js';
import { Encoder, hashCacheOf, type EncoderOptions } from './encoder.js';

/**
 * The id vectors are stored under: an int8 encoder's vectors are another model's (`name@hash+int8`),
 * never mixed with fp32 ones unless measured equivalent.
 */
export function withPrecision(modelId: string, opts: EncoderOptions): string {
  const p = opts.precision ?? 'fp32';
  return p === 'fp32' ? modelId : `${modelId}+${p}`;
}

export class OrtEmbedder implements Embedder {
  readonly dim: number;
  readonly inputSize: number;
  readonly inputChannels: number;
  readonly nClasses: number;

  private readonly config: MatMambaVisionConfig;

  private constructor(
    private readonly encoder: Encoder,
    readonly modelId: string,
    readonly preprocess: PreprocessSpec,
    readonly classLabels: readonly string[] | null,
  ) {
    this.config = encoder.config;
    this.dim = this.config.dModel;
    this.inputSize = this.config.imageSize;
    this.inputChannels = this.config.inChans;
    this.nClasses = this.config.nClasses;
  }

  /**
   * Over a saved model directory. Its graphs come from the export cache (exported once on a
   * miss), so a warm cache never builds the tfjs model.
   */
  static async load(dir: string, opts: EncoderOptions = {}): Promise<OrtEmbedder> {
    const info = readModelDir(dir, hashCacheOf(opts));
    const labels = readClassLabels(dir, info.config.nClasses);
    return new OrtEmbedder(
      await Encoder.load(dir, opts, info),
      withPrecision(info.modelId, opts),
      info.preprocess,
      labels,
    );
  }

  /** Over a model the caller keeps. */
  static async open(
    model: MatMambaVision,
    modelId: string,
    opts: EncoderOptions & { preprocess?: PreprocessSpec } = {},
  ): Promise<OrtEmbedder> {
    return new OrtEmbedder(
      await Encoder.open(model, opts),
      withPrecision(modelId, opts),
      opts.preprocess ?? DEFAULT_PREPROCESS,
      classLabels({}, model.config.nClasses),
    );
  }

  /** The encoder's execution provider ('cpu' or 'cuda'). */
  get provider(): string {
    return this.encoder.provider;
  }

  widthLabel(width: WidthSpec): string {
    return widthLabel(this.config, resolveWidths(this.config, width));
  }

  widthRank(width: WidthSpec): number {
    return widthRank(this.config, width);
  }

  warm(width: WidthSpec): void {
    this.encoder.warm(width);
  }

  async embed(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const { embeddings } = await this.encoder.encode(this.batch(inputs), width);
    return inputs.map((_, i) => embeddings.slice(i * this.dim, (i + 1) * this.dim));
  }

  async classify(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const { logits, nClasses: K } = await this.encoder.classify(this.batch(inputs), width);
    return inputs.map((_, i) => logits.slice(i * K, (i + 1) * K));
  }

  /** Inputs as one NHWC batch. */
  private batch(inputs: readonly Float32Array[]): Float32Array {
    const per = this.inputSize * this.inputSize * this.inputChannels;
    // One input (a query) is its own batch: the encoder copies what it sends to a worker.
    if (inputs.length === 1 && inputs[0]!.length === per) return inputs[0]!;
    const batch = new Float32Array(inputs.length * per);
    inputs.forEach((x, i) => {
      if (x.length !== per) {
        throw new ShapeError(`input ${i} has ${x.length} values, expected ${per}`);
      }
      batch.set(x, i * per);
    });
    return batch;
  }

  async close(): Promise<void> {
    await this.encoder.close(); // which frees a model it loaded
  }
}
