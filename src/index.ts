/** Library entry point: the typed API the CLI and (later) the server are thin layers over. */
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
