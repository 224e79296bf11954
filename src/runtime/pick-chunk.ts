/**
 * The SSD chunk length of an exported graph. Chunking never changes the function, only its cost.
 * Per token, the intra-chunk part costs O(Lc) (a decay-masked Lc-wide quadratic form per head,
 * elementwise-heavy) while the chunk states cost O(N·E) whatever Lc is, so on ORT's CPU kernels
 * short chunks win until per-chunk overheads dominate. Measured for the 35M model at 224 px,
 * batch 32, one thread: 383 ms/image single-chunk (197) vs 343 at 66 and 363 at 33.
 */
import { ValidationError } from '../errors.js';

/** Sequences up to this length run as one chunk. */
const SINGLE_CHUNK_MAX = 96;
/** Target chunk length for longer sequences. */
const TARGET_CHUNK = 64;

/** Chunk length for L tokens: explicit (capped at L), or 'auto' with the least tail padding. */
export function pickChunk(L: number, requested: number | 'auto'): number {
  if (requested !== 'auto') {
    if (!Number.isInteger(requested) || requested <= 0) {
      throw new ValidationError(`chunkSize must be a positive integer or 'auto', got ${requested}`);
    }
    return Math.min(requested, L);
  }
  if (L <= SINGLE_CHUNK_MAX) return L;
  const chunks = Math.round(L / TARGET_CHUNK);
  return Math.ceil(L / chunks);
}
