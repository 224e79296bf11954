/**
 * Per-width latency measured on this machine, the table a latency budget refers to
 * (mix-n-match.ts): milliseconds per image of each uniform standard width through an Encoder.
 */
import { ValidationError } from '../errors.js';
import { STANDARD_WIDTHS } from '../model/widths.js';
import { Rng } from '../util/rng.js';
import type { Encoder } from './encoder.js';
import type { LatencyTable, StandardWidth } from './mix-n-match.js';

export interface LatencyOptions {
  /** Images per encode call (default 8). */
  readonly batch?: number;
  /** Timed calls per width after one warm-up (default 3); the median is kept. */
  readonly reps?: number;
  /** Image side and channels the encoder expects. */
  readonly imageSize: number;
  readonly inChans: number;
}

/** Median ms per image of each standard width, widths interleaved within every repetition. */
export async function measureLatencyTable(
  encoder: Encoder,
  opts: LatencyOptions,
): Promise<LatencyTable> {
  const batch = opts.batch ?? 8;
  const reps = opts.reps ?? 3;
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(reps) || reps < 1) {
    throw new ValidationError(`batch and reps must be positive integers, got ${batch}, ${reps}`);
  }
  const rng = new Rng(1);
  const images = Float32Array.from(
    { length: batch * opts.imageSize * opts.imageSize * opts.inChans },
    () => rng.normal(),
  );
  const times = new Map<StandardWidth, number[]>(STANDARD_WIDTHS.map((w) => [w, []]));
  for (const w of STANDARD_WIDTHS) await encoder.encode(images, w); // export, load, warm up
  for (let r = 0; r < reps; r++) {
    for (const w of STANDARD_WIDTHS) {
      const t0 = performance.now();
      await encoder.encode(images, w);
      times.get(w)!.push((performance.now() - t0) / batch);
    }
  }
  const table: Partial<Record<StandardWidth, number>> = {};
  for (const [w, t] of times) table[w] = t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
  return table;
}
