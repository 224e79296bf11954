/**
 * What the engine needs from an encoder: preprocessed images in, L2-normalised d_model-wide
 * vectors out, at a width. The fast onnxruntime encoder and the tfjs reference both provide it.
 */
import type { PreprocessSpec } from '../model/preprocess-spec.js';
import type { WidthSpec } from '../model/widths.js';

export interface Embedder {
  /** Identifies the weights; stored with every vector. */
  readonly modelId: string;
  /** Vector size (d_model at every width). */
  readonly dim: number;
  /** Model input side and channels, for the decoder. */
  readonly inputSize: number;
  readonly inputChannels: number;
  /**
   * How the model wants images prepared (its config.json `preprocess`), for the decoder;
   * absent means DEFAULT_PREPROCESS.
   */
  readonly preprocess?: PreprocessSpec;
  /** Canonical label of a width for this model ("1", "1/4", "1/8x10,1/4x10"). */
  widthLabel(width: WidthSpec): string;
  /** Mean active fraction of d_model over the layers (1 = full width). */
  widthRank(width: WidthSpec): number;
  /** Optional: prepares `width` now (e.g. starts its inference session) so the first embed is fast. */
  warm?(width: WidthSpec): void;
  /** Outputs of the model's classifier head; 0 or absent: it has none (it cannot classify). */
  readonly nClasses?: number;
  /** Names of those classes in index order, or null when they have none (model/class-labels.ts). */
  readonly classLabels?: readonly string[] | null;
  /** Embeds normalised [S, S, C] images; returns one unit vector per image. */
  embed(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]>;
  /**
   * Optional: the classifier's logits of normalised [S, S, C] images at a width (the head is
   * shared by every width); one nClasses-long array per image.
   */
  classify?(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]>;
  close(): Promise<void>;
}
