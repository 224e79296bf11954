/** Input and output names of every encoder graph; apart so the ORT workers import no exporter. */
export const ONNX_INPUT = 'images';
export const ONNX_FEATURES = 'features';
export const ONNX_EMBEDDING = 'embedding';
/** Classifier logits [B, n_classes]: only in a graph exported with its head (`logits: true`). */
export const ONNX_LOGITS = 'logits';
