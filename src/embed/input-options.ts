/**
 * How a query image is decoded for an embedder: the one place search, the API and classify take
 * it from, so a query is always prepared like the library's own images.
 */
import { DECODE_DEFAULTS } from '../../ingest/decode.js';
import type { Embedder } from './embedder.js';

export function queryDecodeOptions(
  embedder: Pick<Embedder, 'inputSize' | 'inputChannels' | 'preprocess'>,
) {
  return {
    maxPixels: DECODE_DEFAULTS.maxPixels,
    // Queries get the ingest's default limit: a slow one's decoder is killed at it.
    timeoutMs: DECODE_DEFAULTS.timeoutMs,
    inputSize: embedder.inputSize,
    inputChannels: embedder.inputChannels,
    // The model's own preparation (e.g. the official centre crop), as its library's images had.
    preprocess: embedder.preprocess,
  };
}
