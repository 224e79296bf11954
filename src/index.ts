/** The package entry point (`import ... from 'matsearch'`): the typed API the CLI and the server are thin layers over. */
export * from './errors.js';
export {
  initBackend,
  backendName,
  type BackendName,
  type BackendOptions,
} from './model/backend.js';
export {
  makeConfig,
  presetConfig,
  presetNames,
  parseConfig,
  dims,
  PRESETS,
  type MatMambaVisionConfig,
  type ConfigInput,
} from './model/config.js';
export { modelCost, type ModelCost } from './model/cost.js';
export {
  STANDARD_WIDTHS,
  resolveWidths,
  widthLabel,
  widthToDim,
  type WidthSpec,
} from './model/nesting.js';
export { MatMambaVision, type ForwardResult } from './model/vision.js';
export { saveModel, loadModel, type LoadedModel, type ModelMeta } from './model/weights.js';
export { readSafetensors, writeSafetensors } from './model/safetensors.js';
export { importCheckpoint, type ImportOptions } from './model/import-checkpoint.js';
export {
  DEFAULT_PREPROCESS,
  OFFICIAL_EVAL_PREPROCESS,
  type PreprocessSpec,
} from './model/preprocess-spec.js';
export { Encoder, type EncoderOptions, type EncodeResult } from './runtime/encoder.js';
export { OrtEmbedder } from './runtime/ort-embedder.js';
export {
  exportMatMamba,
  exportMatMambaAsync,
  type MatMambaExportOptions,
  type OnnxExport,
} from './runtime/export-matmamba.js';
export { exportVit } from './runtime/export-vit.js';
export { VIT_S16, vitCost, randomVitWeights, type VitConfig } from './runtime/vit.js';
export {
  widthsForBudget,
  type Budget,
  type LatencyTable,
  type MixChoice,
  type StandardWidth,
} from './runtime/mix-n-match.js';
export { measureLatencyTable, type LatencyOptions } from './runtime/latency.js';
export { type Provider, type ProviderRequest } from './runtime/onnx.js';
export {
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalizePixels,
  loadPixels,
  preprocessImage,
  preprocessBatch,
  type ImageInput,
  type RawImage,
  type ModelInputOptions,
} from './runtime/preprocess.js';
// The engine: open a library folder with an embedder, ingest folders, search by example.
export { Library, openLibrary, type LibraryOptions, type LibraryStats } from './library.js';
export {
  Searcher,
  type SearchOptions,
  type SearchHit,
  type SearchResponse,
} from './search/searcher.js';
export {
  openEmbedder,
  resolveModelDir,
  DEFAULT_MODEL_DIR,
  type RuntimeName,
} from './embed/open.js';
export type { Embedder } from './embed/embedder.js';
export type { IngestOptions, IngestSummary } from '../ingest/pipeline.js';
